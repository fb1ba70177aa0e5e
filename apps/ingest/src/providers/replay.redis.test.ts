import { eventTag, signedBodyHash } from '@oncehook/shared';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { createTestApp, readJson, type TestApp } from '../testing/app.ts';
import { SIGNERS } from '../testing/deliveries.ts';

/**
 * GitHub's X-GitHub-Delivery and Shopify's id headers are not covered by the signature: a captured
 * delivery re-sent under a new id must be recognised by its signed body, answered 200
 * duplicate:true, counted as a replay of the first event, and leave nothing for the new id.
 */
const ENV = {
  GITHUB_WEBHOOK_SECRET: 'gh-replay',
  SHOPIFY_WEBHOOK_SECRET: 'shop-replay',
  STRIPE_WEBHOOK_SECRET: 'whsec_r',
};
// The type each signer sends by default (X-GitHub-Event: push; X-Shopify-Topic: orders/create).
const SOURCES = [
  { source: 'github' as const, secret: ENV.GITHUB_WEBHOOK_SECRET, type: 'push' },
  { source: 'shopify' as const, secret: ENV.SHOPIFY_WEBHOOK_SECRET, type: 'orders/create' },
];
const body = JSON.stringify({ ref: 'refs/heads/main', repository: { full_name: 'o/r' }, commits: [1, 2] });

let t: TestApp;
beforeEach(async () => {
  t = await createTestApp(ENV);
});
afterEach(async () => {
  vi.restoreAllMocks();
  await t.close();
});

const status = (source: string, id: string) => t.get(`/status/${source}/${id}`);

describe.each(SOURCES)('$source: a captured delivery re-sent under a new id', ({ source, secret, type }) => {
  const deliver = async (id: string, payload = body) =>
    t.post(
      `/webhooks/${source}`,
      payload,
      await SIGNERS[source]({ body: payload, secret, id, nowMs: Date.now() }),
    );
  // A copy is a replay once the original is durable beyond doubt: a worker has its job.
  const original = async (id: string, payload = body) => {
    const res = await deliver(id, payload);
    if (res.status === 200) await t.startedByWorker(source, id);
    return res;
  };

  it('is answered duplicate:true, counted as a replay of the original, and not processed again', async () => {
    expect(await (await original('original-1')).json()).toEqual({ received: true, duplicate: false });
    const forged = await deliver('forged-2');
    expect(forged.status).toBe(200);
    expect(await forged.json()).toEqual({ received: true, duplicate: true });

    expect((await t.traces()).jobs).toBe(1);
    expect(await t.jobOf(source, 'forged-2')).toBeUndefined();
    expect(await readJson(await status(source, 'original-1'))).toMatchObject({ deliveries: 1, copies: 1 });
    expect((await status(source, 'forged-2')).status).toBe(404);
    expect(await t.redis.exists(t.keys.event(eventTag(source, 'forged-2')))).toBe(0);
  });

  it('leaves a genuine redelivery (same id) a plain duplicate, not a replay', async () => {
    await deliver('original-1');
    expect(await (await deliver('original-1')).json()).toEqual({ received: true, duplicate: true });
    expect(await readJson(await status(source, 'original-1'))).toMatchObject({ deliveries: 2, copies: 0 });
  });

  it('after a 503 (enqueue refused), lets the retry with the same id through and still catches a copy', async () => {
    vi.spyOn(t.queue, 'add').mockRejectedValueOnce(new Error('Redis refused the write'));
    expect((await deliver('original-1')).status).toBe(503);
    expect((await status(source, 'original-1')).status).toBe(404);

    // The signed-body claim outlived the 503; the provider's retry carries the same id and owns it.
    expect(await (await original('original-1')).json()).toEqual({ received: true, duplicate: false });
    expect((await t.traces()).jobs).toBe(1);
    expect(await (await deliver('forged-2')).json()).toEqual({ received: true, duplicate: true });
    expect((await t.traces()).jobs).toBe(1);
  });

  it('refuses (503) a copy while the original is not enqueued yet, then calls it a replay once it is', async () => {
    vi.spyOn(t.queue, 'add').mockRejectedValueOnce(new Error('Redis refused the write'));
    expect((await deliver('original-1')).status).toBe(503);

    expect((await deliver('forged-2')).status).toBe(503);
    expect(await t.redis.exists(t.keys.event(eventTag(source, 'forged-2')))).toBe(0);

    await deliver('original-1');
    expect(await (await deliver('forged-2')).json()).toEqual({ received: true, duplicate: true });
    expect(await readJson(await status(source, 'original-1'))).toMatchObject({ deliveries: 1, copies: 1 });
  });

  it('takes over a claim whose owner has no record (its ingest died between claim and record)', async () => {
    const hash = signedBodyHash(type, body);
    await t.redis.set(t.keys.signedBody(source, hash), eventTag(source, 'died-0'), 'EX', 600);

    expect(await (await original('original-1')).json()).toEqual({ received: true, duplicate: false });
    expect(await t.redis.get(t.keys.signedBody(source, hash))).toBe(eventTag(source, 'original-1'));
    expect(await (await deliver('forged-2')).json()).toEqual({ received: true, duplicate: true });
  });

  it('lets exactly one of two copies racing to take over a gone owner’s claim through', async () => {
    const bodies = Array.from({ length: 10 }, (_, i) => JSON.stringify({ race: i, at: 'x'.repeat(i) }));
    for (const b of bodies)
      await t.redis.set(
        t.keys.signedBody(source, signedBodyHash(type, b)),
        eventTag(source, 'gone'),
        'EX',
        600,
      );
    const answers = await Promise.all(
      bodies.flatMap((b, i) => [deliver(`copy-a-${i}`, b), deliver(`copy-b-${i}`, b)]),
    );
    expect((await t.traces()).jobs).toBe(10);
    const json = await Promise.all(
      answers.map(async (a) => (a.status === 200 ? a.json() : { status: a.status })),
    );
    expect(json.filter((j) => (j as { duplicate?: boolean }).duplicate === false)).toHaveLength(10);
    // The other copy is a replay of the winner (or told to retry until the winner is durable).
    for (const [n, j] of json.entries()) {
      const copy = `copy-${n % 2 === 0 ? 'a' : 'b'}-${Math.floor(n / 2)}`;
      if ((j as { duplicate?: boolean }).duplicate === false) await t.startedByWorker(source, copy);
    }
    for (const [i, b] of bodies.entries()) {
      const again = await Promise.all([deliver(`copy-a-${i}`, b), deliver(`copy-b-${i}`, b)]);
      expect(again.map((a) => a.status)).toEqual([200, 200]);
    }
    expect((await t.traces()).jobs).toBe(10);
  });
});

describe('shopify: one body under two topics', () => {
  it('is two events (orders/paid and orders/updated), while a capture re-sent under a new id is still a replay', async () => {
    const order = JSON.stringify({ id: 820982911946154500, financial_status: 'paid', total_price: '49.99' });
    const send = async (id: string, topic: string) =>
      t.post(
        '/webhooks/shopify',
        order,
        await SIGNERS.shopify({
          body: order,
          secret: ENV.SHOPIFY_WEBHOOK_SECRET,
          id,
          nowMs: Date.now(),
          event: topic,
        }),
      );
    expect(await (await send('wh-paid', 'orders/paid')).json()).toEqual({ received: true, duplicate: false });
    expect(await (await send('wh-updated', 'orders/updated')).json()).toEqual({
      received: true,
      duplicate: false,
    });
    expect((await t.traces()).jobs).toBe(2);
    await t.startedByWorker('shopify', 'wh-paid');
    expect(await readJson(await status('shopify', 'wh-updated'))).toMatchObject({
      type: 'orders/updated',
      deliveries: 1,
    });

    expect(await (await send('wh-captured', 'orders/paid')).json()).toEqual({
      received: true,
      duplicate: true,
    });
    expect((await t.traces()).jobs).toBe(2);
    expect(await readJson(await status('shopify', 'wh-paid'))).toMatchObject({ copies: 1 });
  });
});

it('does not keep signed-body claims for sources whose event id is signed (stripe)', async () => {
  const stripeBody = JSON.stringify({ id: 'evt_signed', type: 'x' });
  const headers = await SIGNERS.stripe({ body: stripeBody, secret: 'whsec_r', id: '', nowMs: Date.now() });
  expect((await t.post('/webhooks/stripe', stripeBody, headers)).status).toBe(200);
  expect((await t.traces()).records.filter((k) => k.includes(':sig:'))).toEqual([]);
});
