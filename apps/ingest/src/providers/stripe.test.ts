import Stripe from 'stripe';
import { describe, expect, it } from 'vitest';
import { addressedTo, servedSource } from '../testing/providers.ts';
import type { Provider } from '../verify/types.ts';

const NOW = 1_750_000_000_000;
const nowS = NOW / 1000;
const event = { id: 'evt_1Q', object: 'event', type: 'checkout.session.completed', data: { object: {} } };
const payload = JSON.stringify(event);

const make = (secrets: string) => servedSource('stripe', { STRIPE_WEBHOOK_SECRET: secrets }) as Provider;
// Signed by Stripe's own library, the way Stripe's docs say to test a receiver.
const header = (secret: string, timestamp = nowS, body = payload) =>
  Stripe.webhooks.generateTestHeaderString({ payload: body, secret, timestamp });
const verify = (p: Provider, headers: Record<string, string>, body = payload, nowMs = NOW) =>
  p.verify({ ...addressedTo('stripe'), rawBody: Buffer.from(body), headers: new Headers(headers), nowMs });

describe('stripe verifier', () => {
  const provider = make('whsec_test');

  it('accepts a delivery signed by the stripe library, with the event id and type from the body', async () => {
    expect(await verify(provider, { 'stripe-signature': header('whsec_test') })).toEqual({
      ok: true,
      event: { id: 'evt_1Q', type: 'checkout.session.completed' },
    });
  });

  it.each([
    ['tampered body', { 'stripe-signature': header('whsec_test') }, payload.replace('evt_1Q', 'evt_2Q')],
    ['wrong secret', { 'stripe-signature': header('whsec_other') }, payload],
    ['missing header', {}, payload],
    ['empty header', { 'stripe-signature': '' }, payload],
    ['no v1', { 'stripe-signature': `t=${nowS}` }, payload],
    ['garbage header', { 'stripe-signature': 't=x,v1=,v1' }, payload],
    ['stale timestamp (301 s)', { 'stripe-signature': header('whsec_test', nowS - 301) }, payload],
    ['future timestamp (301 s)', { 'stripe-signature': header('whsec_test', nowS + 301) }, payload],
  ])('refuses a %s with one 401 that does not say which part failed', async (_, headers, body) => {
    const result = await verify(provider, headers, body);
    expect(result).toMatchObject({ ok: false, reason: 'invalid_signature' });
    expect(result).toEqual(await verify(provider, {}, body));
  });

  it('accepts timestamps inside the 300 s tolerance on either side', async () => {
    for (const t of [nowS - 299, nowS + 299]) {
      expect(await verify(provider, { 'stripe-signature': header('whsec_test', t) })).toMatchObject({
        ok: true,
      });
    }
  });

  it('refuses a header with two timestamps', async () => {
    const h = header('whsec_test');
    expect(await verify(provider, { 'stripe-signature': `t=${nowS - 9999},${h}` })).toMatchObject({
      reason: 'invalid_signature',
    });
  });

  it('accepts either configured secret during a rotation', async () => {
    const rotating = make('whsec_old, whsec_new');
    for (const secret of ['whsec_old', 'whsec_new']) {
      expect(await verify(rotating, { 'stripe-signature': header(secret) })).toMatchObject({ ok: true });
    }
    expect(await verify(rotating, { 'stripe-signature': header('whsec_gone') })).toMatchObject({ ok: false });
  });

  it('accepts a header carrying several v1 signatures when any one is valid', async () => {
    const good = header('whsec_test').split(',')[1];
    const bad = header('whsec_other').split(',')[1];
    expect(await verify(provider, { 'stripe-signature': `t=${nowS},${bad},${good}` })).toMatchObject({
      ok: true,
    });
  });

  it('refuses a signed body without a usable event id', async () => {
    const body = JSON.stringify({ type: 'x' });
    expect(
      await verify(provider, { 'stripe-signature': header('whsec_test', nowS, body) }, body),
    ).toMatchObject({
      ok: false,
      reason: 'invalid_event_id',
    });
  });

  it('is not served without STRIPE_WEBHOOK_SECRET, and keeps events 30 days unless told otherwise', () => {
    expect(servedSource('stripe')).toBeUndefined();
    expect(provider.dedupeTtlSeconds).toBe(30 * 86_400);
    expect(
      servedSource('stripe', { STRIPE_WEBHOOK_SECRET: 's', DEDUPE_TTL_SECONDS_STRIPE: '259200' })
        ?.dedupeTtlSeconds,
    ).toBe(259_200);
  });

  describe('thin events (object: "v2.core.event")', () => {
    const thin = {
      id: 'evt_test_65R9Ijk8cwmR6xNrAvp16R9IRVSQbGSlnFFS2w8cnmdSPM',
      object: 'v2.core.event',
      type: 'v1.checkout.session.completed',
      livemode: false,
      created: '2025-06-15T12:00:00.000Z',
      related_object: {
        id: 'cs_test_thin1',
        type: 'checkout.session',
        url: '/v1/checkout/sessions/cs_test_thin1',
      },
    };
    const body = JSON.stringify(thin);

    it('is what Stripe sends: its SDK parses it as an event notification, and constructEvent refuses it', () => {
      const now = Math.floor(Date.now() / 1000);
      const signed = header('whsec_test', now, body);
      const notification = new Stripe('sk_test_x').parseEventNotification(body, signed, 'whsec_test');
      expect(notification).toMatchObject({ id: thin.id, type: thin.type });
      expect(() => Stripe.webhooks.constructEvent(body, signed, 'whsec_test')).toThrow();
    });

    it('is verified and recorded as thin:<type> under its id: never the snapshot type', async () => {
      expect(await verify(provider, { 'stripe-signature': header('whsec_test', nowS, body) }, body)).toEqual({
        ok: true,
        event: {
          id: thin.id,
          type: 'thin:v1.checkout.session.completed',
          order: { key: thin.related_object.id, at: Date.parse(thin.created) },
        },
      });
      // Even one named like a snapshot event cannot pass for it.
      const named = JSON.stringify({ ...thin, type: 'checkout.session.completed' });
      expect(
        await verify(provider, { 'stripe-signature': header('whsec_test', nowS, named) }, named),
      ).toMatchObject({
        event: { type: 'thin:checkout.session.completed' },
      });
    });

    it('is refused tampered or stale, like any Stripe event', async () => {
      const signed = header('whsec_test', nowS, body);
      expect(
        await verify(
          provider,
          { 'stripe-signature': signed },
          body.replace('cs_test_thin1', 'cs_test_other'),
        ),
      ).toMatchObject({
        reason: 'invalid_signature',
      });
      expect(
        await verify(provider, { 'stripe-signature': header('whsec_test', nowS - 301, body) }, body),
      ).toMatchObject({
        reason: 'invalid_signature',
      });
    });
  });
});
