import { createHmac } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { addressedTo, servedSource } from '../testing/providers.ts';
import type { Provider } from '../verify/types.ts';

const payload = JSON.stringify({ id: 820982911946154500, email: 'jon@example.com', total_price: '10.00' });
const make = (secrets: string) => servedSource('shopify', { SHOPIFY_WEBHOOK_SECRET: secrets }) as Provider;
// Per Shopify's docs: base64 HMAC-SHA256 of the raw body with the app's client secret.
const hmac = (secret: string, body = payload) => createHmac('sha256', secret).update(body).digest('base64');
const headers = (secret: string, body = payload, extra: Record<string, string> = {}) => ({
  'x-shopify-hmac-sha256': hmac(secret, body),
  'x-shopify-event-id': 'b54557e4-bdd9-4b37-8a5f-bf7d70bcd043',
  'x-shopify-webhook-id': 'b54557e4-0000-0000-0000-bf7d70bcd043',
  'x-shopify-topic': 'orders/create',
  'x-shopify-shop-domain': 'example.myshopify.com',
  'x-shopify-api-version': '2025-07',
  ...extra,
});
const verify = (p: Provider, h: Record<string, string>, body = payload, nowMs = Date.now()) =>
  p.verify({ ...addressedTo('shopify'), rawBody: Buffer.from(body), headers: new Headers(h), nowMs });

describe('shopify verifier', () => {
  const provider = make('shpss_secret');

  it('accepts a delivery signed per the docs; the id is X-Shopify-Event-Id, which is not signed', async () => {
    expect(await verify(provider, headers('shpss_secret'))).toEqual({
      ok: true,
      event: { id: 'b54557e4-bdd9-4b37-8a5f-bf7d70bcd043', type: 'orders/create', idUnsigned: true },
    });
  });

  it('falls back to X-Shopify-Webhook-Id when there is no event id header', async () => {
    const { 'x-shopify-event-id': _, ...older } = headers('shpss_secret');
    expect(await verify(provider, older)).toMatchObject({
      ok: true,
      event: { id: 'b54557e4-0000-0000-0000-bf7d70bcd043' },
    });
  });

  it('refuses a tampered body, a wrong secret, a missing or malformed header with one 401', async () => {
    const good = headers('shpss_secret');
    const { 'x-shopify-hmac-sha256': _, ...unsigned } = good;
    const cases: [Record<string, string>, string][] = [
      [good, payload.replace('10.00', '0.01')],
      [headers('other'), payload],
      [unsigned, payload],
      [
        { ...good, 'x-shopify-hmac-sha256': Buffer.from(hmac('shpss_secret'), 'base64').toString('hex') },
        payload,
      ],
      [{ ...good, 'x-shopify-hmac-sha256': 'not base64!' }, payload],
    ];
    for (const [h, body] of cases) {
      expect(await verify(provider, h, body)).toMatchObject({
        ok: false,
        reason: 'invalid_signature',
      });
    }
  });

  it('accepts either configured secret during a rotation', async () => {
    const rotating = make('old,new');
    expect(await verify(rotating, headers('old'))).toMatchObject({ ok: true });
    expect(await verify(rotating, headers('new'))).toMatchObject({ ok: true });
    expect(await verify(rotating, headers('neither'))).toMatchObject({
      ok: false,
      reason: 'invalid_signature',
    });
  });

  it('needs an id header once the signature is good', async () => {
    const { 'x-shopify-event-id': _, 'x-shopify-webhook-id': __, ...noId } = headers('shpss_secret');
    expect(await verify(provider, noId)).toMatchObject({ ok: false, reason: 'invalid_event_id' });
  });

  it('has no timestamp to check: Shopify signs none, so replays are caught by the signed-body dedupe', async () => {
    expect(await verify(provider, headers('shpss_secret'), payload, 0)).toMatchObject({ ok: true });
  });

  it('is not served without SHOPIFY_WEBHOOK_SECRET; 7-day window by default', () => {
    expect(servedSource('shopify')).toBeUndefined();
    expect(provider.dedupeTtlSeconds).toBe(7 * 86_400);
  });

  describe('the newer shopify-* header family', () => {
    // What an events delivery carries, per Shopify's library (WEBHOOK_HEADER_NAMES.events).
    const events = (secret: string, body = payload) => ({
      'shopify-hmac-sha256': hmac(secret, body),
      'shopify-topic': 'orders/create',
      'shopify-shop-domain': 'example.myshopify.com',
      'shopify-api-version': '2025-07',
      'shopify-event-id': '0bd4a6a2-5cd9-4a5a-9b4b-8c6f0e1d2a3b',
      'shopify-triggered-at': '2025-06-15T12:00:00.000Z',
    });

    it('accepts a delivery carrying only shopify-* headers; the id is shopify-event-id', async () => {
      expect(await verify(provider, events('shpss_secret'))).toEqual({
        ok: true,
        event: { id: '0bd4a6a2-5cd9-4a5a-9b4b-8c6f0e1d2a3b', type: 'orders/create', idUnsigned: true },
      });
    });

    it('reads the newer family when both are present, as Shopify’s library does', async () => {
      const both = { ...headers('shpss_secret'), ...events('shpss_secret') };
      expect(await verify(provider, both)).toMatchObject({
        ok: true,
        event: { id: '0bd4a6a2-5cd9-4a5a-9b4b-8c6f0e1d2a3b' },
      });
      // The classic signature does not stand in for a forged shopify-hmac-sha256.
      const forged = { ...headers('shpss_secret'), ...events('other') };
      expect(await verify(provider, forged)).toMatchObject({ reason: 'invalid_signature' });
    });

    it('refuses a wrong secret, and requires shopify-event-id', async () => {
      expect(await verify(provider, events('other'))).toMatchObject({ reason: 'invalid_signature' });
      const { 'shopify-event-id': _, ...noId } = events('shpss_secret');
      expect(await verify(provider, noId)).toMatchObject({ reason: 'invalid_event_id' });
    });
  });

  describe('the headers Shopify’s library requires: topic, shop domain, API version', () => {
    it.each([
      ['x-shopify-topic', 'classic'],
      ['x-shopify-shop-domain', 'classic'],
      ['x-shopify-api-version', 'classic'],
    ])('refuses a signed delivery without %s (400 missing_header)', async (name) => {
      const { [name]: _, ...without } = headers('shpss_secret') as Record<string, string>;
      const result = await verify(provider, without);
      expect(result).toMatchObject({ ok: false, reason: 'missing_header' });
      expect(result.ok ? '' : result.message).toContain(name);
    });

    it('checks the HMAC first: a forged delivery is 401 whatever headers it lacks', async () => {
      const { 'x-shopify-topic': _, ...without } = headers('other');
      expect(await verify(provider, without)).toMatchObject({ reason: 'invalid_signature' });
    });
  });
});
