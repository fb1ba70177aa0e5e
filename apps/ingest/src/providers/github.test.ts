import { sign } from '@octokit/webhooks-methods';
import { describe, expect, it } from 'vitest';
import { addressedTo, servedSource } from '../testing/providers.ts';
import type { Provider } from '../verify/types.ts';

const payload = JSON.stringify({ action: 'opened', issue: { number: 1 } });
const DELIVERY = '72d3162e-cc78-11e3-81ab-4c9367dc0958';

const make = (secrets: string) => servedSource('github', { GITHUB_WEBHOOK_SECRET: secrets }) as Provider;
// Signed by GitHub's own Octokit helper.
const headers = async (secret: string, body = payload, extra: Record<string, string> = {}) => ({
  'x-hub-signature-256': await sign(secret, body),
  'x-github-delivery': DELIVERY,
  'x-github-event': 'issues',
  'content-type': 'application/json',
  ...extra,
});
const verify = (p: Provider, h: Record<string, string>, body = payload) =>
  p.verify({
    ...addressedTo('github'),
    rawBody: Buffer.from(body),
    headers: new Headers(h),
    nowMs: Date.now(),
  });

describe('github verifier', () => {
  const provider = make('gh-secret');

  it('accepts a delivery signed by @octokit/webhooks-methods; the id is X-GitHub-Delivery, not signed', async () => {
    expect(await verify(provider, await headers('gh-secret'))).toEqual({
      ok: true,
      event: { id: DELIVERY, type: 'issues.opened', idUnsigned: true },
    });
  });

  it('refuses a tampered body, a wrong secret, a missing or malformed header with one 401', async () => {
    const good = await headers('gh-secret');
    const { 'x-hub-signature-256': _, ...unsigned } = good;
    const cases: [Record<string, string>, string][] = [
      [good, payload.replace('opened', 'closed')],
      [await headers('other'), payload],
      [unsigned, payload],
      [{ ...good, 'x-hub-signature-256': good['x-hub-signature-256'].replace('sha256=', 'sha1=') }, payload],
      [{ ...good, 'x-hub-signature-256': 'sha256=' }, payload],
      [good, ''],
    ];
    for (const [h, body] of cases) {
      expect(await verify(provider, h, body)).toMatchObject({
        ok: false,
        reason: 'invalid_signature',
      });
    }
  });

  it('accepts either configured secret during a rotation', async () => {
    const rotating = make('old-secret,new-secret');
    for (const secret of ['old-secret', 'new-secret']) {
      expect(await verify(rotating, await headers(secret))).toMatchObject({ ok: true });
    }
    expect(await verify(rotating, await headers('other'))).toMatchObject({
      ok: false,
      reason: 'invalid_signature',
    });
  });

  it('needs X-GitHub-Delivery once the signature is good', async () => {
    const { 'x-github-delivery': _, ...noId } = await headers('gh-secret');
    expect(await verify(provider, noId)).toMatchObject({ ok: false, reason: 'invalid_event_id' });
  });

  it('unwraps a form-encoded delivery: signature on the raw form, the JSON inside is the payload', async () => {
    const form = `payload=${encodeURIComponent(payload)}`;
    const h = await headers('gh-secret', form, { 'content-type': 'application/x-www-form-urlencoded' });
    expect(await verify(provider, h, form)).toEqual({
      ok: true,
      event: { id: DELIVERY, type: 'issues.opened', idUnsigned: true, payload },
    });
    const tampered = form.replace('opened', 'closed');
    expect(await verify(provider, h, tampered)).toMatchObject({ ok: false, reason: 'invalid_signature' });
  });

  it('refuses a body that is not UTF-8 rather than verify a lossy decoding of it', async () => {
    const raw = Buffer.concat([Buffer.from('{"a":"'), Buffer.from([0xff]), Buffer.from('"}')]);
    const h = await headers('gh-secret', raw.toString('utf8'));
    const result = await provider.verify({
      ...addressedTo('github'),
      rawBody: raw,
      headers: new Headers(h),
      nowMs: Date.now(),
    });
    expect(result).toMatchObject({ ok: false, reason: 'invalid_signature' });
  });

  it('has no timestamp to check: GitHub signs none, so replays are caught by the signed-body dedupe', async () => {
    const h = await headers('gh-secret');
    const later = await provider.verify({
      ...addressedTo('github'),
      rawBody: Buffer.from(payload),
      headers: new Headers(h),
      nowMs: 0,
    });
    expect(later).toMatchObject({ ok: true, event: { idUnsigned: true } });
  });

  it('is not served without GITHUB_WEBHOOK_SECRET; 7-day window by default', () => {
    expect(servedSource('github')).toBeUndefined();
    expect(provider.dedupeTtlSeconds).toBe(7 * 86_400);
  });
});
