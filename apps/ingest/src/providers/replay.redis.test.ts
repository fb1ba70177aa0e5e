import { createHash } from 'node:crypto';
import { eventTag } from '@oncehook/shared';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { SIGNERS } from '../cli/sign.ts';
import { createTestApp, readJson, type TestApp } from '../testing/app.ts';

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
const SOURCES = [
  { source: 'github' as const, secret: ENV.GITHUB_WEBHOOK_SECRET },
  { source: 'shopify' as const, secret: ENV.SHOPIFY_WEBHOOK_SECRET },
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

const status = (source: string, id: string) => t.app.request(`/status/${source}/${id}`);

describe.each(SOURCES)('$source: a captured delivery re-sent under a new id', ({ source, secret }) => {
  const deliver = async (id: string) =>
    t.post(`/webhooks/${source}`, body, await SIGNERS[source]({ body, secret, id, nowMs: Date.now() }));

  it('is answered duplicate:true, counted as a replay of the original, and not processed again', async () => {
    expect(await (await deliver('original-1')).json()).toEqual({ received: true, duplicate: false });
    const forged = await deliver('forged-2');
    expect(forged.status).toBe(200);
    expect(await forged.json()).toEqual({ received: true, duplicate: true });

    expect((await t.traces()).jobs).toBe(1);
    expect(await t.queue.getJob(eventTag(source, 'forged-2'))).toBeUndefined();
    expect(await readJson(await status(source, 'original-1'))).toMatchObject({ deliveries: 1, replays: 1 });
    expect((await status(source, 'forged-2')).status).toBe(404);
    expect(await t.redis.exists(t.keys.event(eventTag(source, 'forged-2')))).toBe(0);
  });

  it('leaves a genuine redelivery (same id) a plain duplicate, not a replay', async () => {
    await deliver('original-1');
    expect(await (await deliver('original-1')).json()).toEqual({ received: true, duplicate: true });
    expect(await readJson(await status(source, 'original-1'))).toMatchObject({ deliveries: 2, replays: 0 });
  });

  it('after a 503 (enqueue refused), lets the retry with the same id through and still catches a copy', async () => {
    vi.spyOn(t.queue, 'add').mockRejectedValueOnce(new Error('Redis refused the write'));
    expect((await deliver('original-1')).status).toBe(503);
    expect((await status(source, 'original-1')).status).toBe(404);

    // The signed-body claim outlived the 503; the provider's retry carries the same id and owns it.
    expect(await (await deliver('original-1')).json()).toEqual({ received: true, duplicate: false });
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
    expect(await readJson(await status(source, 'original-1'))).toMatchObject({ deliveries: 1, replays: 1 });
  });

  it('takes over a claim whose owner has no record (its ingest died between claim and record)', async () => {
    const hash = createHash('sha256').update(body).digest('hex');
    await t.redis.set(t.keys.signedBody(source, hash), eventTag(source, 'died-0'), 'EX', 600);

    expect(await (await deliver('original-1')).json()).toEqual({ received: true, duplicate: false });
    expect(await t.redis.get(t.keys.signedBody(source, hash))).toBe(eventTag(source, 'original-1'));
    expect(await (await deliver('forged-2')).json()).toEqual({ received: true, duplicate: true });
  });
});

it('does not keep signed-body claims for sources whose event id is signed (stripe)', async () => {
  const stripeBody = JSON.stringify({ id: 'evt_signed', type: 'x' });
  const headers = await SIGNERS.stripe({ body: stripeBody, secret: 'whsec_r', id: '', nowMs: Date.now() });
  expect((await t.post('/webhooks/stripe', stripeBody, headers)).status).toBe(200);
  expect((await t.traces()).records.filter((k) => k.includes(':sig:'))).toEqual([]);
});
