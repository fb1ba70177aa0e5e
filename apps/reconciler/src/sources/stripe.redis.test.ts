import { SIGNERS } from '@oncehook/ingest/sign';
import { createTestApp, type TestApp } from '@oncehook/ingest/testing';
import { createRedis, eventJobSchema, eventTag } from '@oncehook/shared';
import { checkoutEvent, type FakeApis, type FakeStripeEvent, startFakeApis } from '@oncehook/testing';
import type { Queue } from 'bullmq';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { feedState } from '../checkpoint.ts';
import { acquireLock } from '../lock.ts';
import { reconcileSource } from '../run.ts';
import { reconcilerDeps } from '../testing/reconciler.ts';
import { stripeSource } from './stripe.ts';
import { stripeEventsApi } from './stripe-events.ts';

/**
 * The Stripe source against a fake Stripe (pages of 5) and the real accept path on a real Redis:
 * 12 events listed as not delivered, some of which the ingest did receive.
 */
const SECRET = 'whsec_unit';
const NOW = Math.floor(Date.now() / 1000);
// An hour old, a minute apart: a run from the checkpoint (5 minutes' overlap) lists none again.
const EVENTS = Array.from({ length: 12 }, (_, i) => checkoutEvent(i, NOW - 3600 - i * 60));
const DELIVERED = new Set([0, 3, 6, 9, 11].map((i) => EVENTS[i]?.id));

let t: TestApp;
let apis: FakeApis;
beforeEach(async () => {
  t = await createTestApp({ STRIPE_WEBHOOK_SECRET: SECRET });
  apis = await startFakeApis();
  apis.stripeEvents.settings.pageSize = 5;
  for (const event of EVENTS) apis.stripeEvents.add(event);
});
afterEach(async () => {
  await apis.close();
  await t.close();
});

const WINDOW = 30 * 86_400; // the ingest's default for stripe
const sourceWith = (accept = reconcilerDeps(t).accept, window = WINDOW) =>
  stripeSource(stripeEventsApi(apis.url, 'sk_test_unit'), accept, window);
// The run's clock is the test's NOW: ranges are compared to the second.
const run = (opts: { since?: number } = {}, source = sourceWith()) =>
  reconcileSource(reconcilerDeps(t, { now: () => NOW * 1000 }).run, source, opts);

async function deliver(event: FakeStripeEvent) {
  const body = JSON.stringify(event, null, 2);
  const headers = await SIGNERS.stripe({ body, secret: SECRET, id: '', nowMs: Date.now() });
  expect((await t.post('/webhooks/stripe', body, headers)).status).toBe(200);
}
const record = (event: FakeStripeEvent) => t.redis.hgetall(t.keys.event(eventTag('stripe', event.id)));
const jobs = async () => (await t.queue.getJobs()).map((j) => eventJobSchema.parse(j.data));

describe('Stripe reconciliation', () => {
  it('recovers the events the ingest never received, counts the others as seen, and finds nothing new next time', async () => {
    for (const event of EVENTS) if (DELIVERED.has(event.id)) await deliver(event);

    const first = await run();
    expect(first.result, first.error?.stack).toBe('completed');
    expect(first.tally).toMatchObject({ found: 12, alreadySeen: 5, recovered: 7, failed: 0 });

    const enqueued = await jobs();
    expect(enqueued.map((j) => j.eventId).sort()).toEqual(EVENTS.map((e) => e.id).sort());
    for (const event of EVENTS) {
      const r = await record(event);
      expect(r.deliveries).toBe(DELIVERED.has(event.id) ? '2' : '1');
      expect(r.conflicts).toBeUndefined();
    }
    // A recovered event's job carries what a webhook delivery of it would: the event's JSON.
    const recovered = enqueued.find((j) => j.eventId === EVENTS[1]?.id);
    expect(recovered).toMatchObject({ source: 'stripe', type: 'checkout.session.completed' });
    expect(JSON.parse(recovered?.payload ?? '')).toEqual(EVENTS[1]);

    // Three pages, each asking for what was not delivered in the run's range.
    const calls = apis.stripeEvents.calls;
    expect(calls.map((c) => c.ids.length)).toEqual([5, 5, 2]);
    for (const c of calls) {
      expect(c.query).toMatchObject({
        delivery_success: 'false',
        'created[lte]': String(calls[0]?.query['created[lte]']),
      });
      expect(Number(c.query['created[gte]'])).toBe(NOW - 72 * 3600);
    }
    expect(calls.map((c) => c.query.starting_after)).toEqual([undefined, EVENTS[4]?.id, EVENTS[9]?.id]);

    const second = await run();
    expect(second.tally).toMatchObject({ found: 0, recovered: 0 });
    const again = await run({ since: NOW - 72 * 3600 });
    expect(again.tally).toMatchObject({ found: 12, alreadySeen: 12, recovered: 0 });
    expect(await jobs()).toHaveLength(12);
  });

  it('a run that dies mid-page resumes after the last whole page: nothing skipped, each event once', async () => {
    // The 7th event's enqueue fails (Redis gone at that instant), two events into the second page.
    let adds = 0;
    const failing = {
      add: (...args: Parameters<Queue['add']>) =>
        ++adds === 7 ? Promise.reject(new Error('injected: Redis went away')) : t.queue.add(...args),
      toKey: (id: string) => t.queue.toKey(id),
    } as unknown as Queue;
    const queues = {
      ...t.queues,
      forEvent: (tag: string, n?: number) => ({ ...t.queues.forEvent(tag, n), events: failing }),
    };
    const crashed = await run({}, sourceWith({ ...reconcilerDeps(t).accept, queues }));
    expect(crashed.result).toBe('failed');
    expect(crashed.tally.recovered).toBe(6);

    const lock = await acquireLock(t.redis, t.keys, 'stripe', 5000, reconcilerDeps(t).run.log);
    const state = await feedState(t.redis, t.keys, 'stripe', 'events', lock!).read();
    await lock?.release();
    expect(state.checkpoint).toBeUndefined();
    expect(state.unfinished?.upTo).toBe(EVENTS[4]?.created); // the first page, and no further

    const resumed = await run();
    expect(resumed.result).toBe('completed');
    // Resumed at the first page's last event (the same second may hold more): page 1 is not fed again.
    expect(apis.stripeEvents.calls.at(-2)?.query['created[lte]']).toBe(String(EVENTS[4]?.created));
    const deliveries = await Promise.all(EVENTS.map(async (e) => Number((await record(e)).deliveries)));
    expect(deliveries).toEqual([1, 1, 1, 1, 2, 2, 1, 1, 1, 1, 1, 1]);
    const enqueued = await jobs();
    expect(enqueued).toHaveLength(12);
    expect(new Set(enqueued.map((j) => j.eventId)).size).toBe(12);
  });

  it('waits out 429s (Retry-After, else backing off) and goes on', async () => {
    apis.stripeEvents.rateLimit(2, 0);
    const limited = await run();
    expect(limited.result).toBe('completed');
    expect(limited.tally).toMatchObject({ rateLimitWaits: 2, found: 12, recovered: 12 });
    expect(apis.stripeEvents.calls.map((c) => c.status)).toEqual([429, 429, 200, 200, 200]);

    apis.stripeEvents.rateLimit(1); // no Retry-After: the first backoff is 0.5-1 s
    const started = Date.now();
    expect((await run({ since: NOW - 7200 })).tally).toMatchObject({ rateLimitWaits: 1, alreadySeen: 12 });
    expect(Date.now() - started).toBeGreaterThanOrEqual(500);
  });

  it('does nothing while another reconciler holds the lock, and stops when its lock is taken', async () => {
    const other = await acquireLock(t.redis, t.keys, 'stripe', 5000, reconcilerDeps(t).run.log);
    expect((await run()).result).toBe('locked');
    expect(apis.stripeEvents.calls).toHaveLength(0);
    await other?.release();

    const release = apis.stripeEvents.hold();
    const running = run();
    await new Promise((r) => setTimeout(r, 200));
    await t.redis.set(t.keys.reconcileLock('stripe'), 'taken-over');
    release();
    const outcome = await running;
    expect(outcome.result).toBe('failed');
    expect(outcome.error?.name).toBe('LockLost');
    expect(await t.redis.hget(t.keys.reconcileFeed('stripe', 'events'), 'checkpoint')).toBeNull();
    await t.redis.del(t.keys.reconcileLock('stripe'));
  });

  it('never reaches back further than the dedupe window, where records of received events may be gone', async () => {
    const shortWindow = sourceWith(reconcilerDeps(t).accept, 2 * 3600);
    const asked = await run({ since: NOW - 72 * 3600 }, shortWindow);
    expect(asked.result).toBe('failed');
    expect(asked.error?.message).toContain('--since reaches back further than its dedupe window (7200 s)');
    expect(apis.stripeEvents.calls).toHaveLength(0);

    // A first run's lookback (72 h) starts at the window instead.
    const first = await run({}, shortWindow);
    expect(first.result).toBe('completed');
    expect(Number(apis.stripeEvents.calls[0]?.query['created[gte]'])).toBeGreaterThanOrEqual(NOW - 7200);
  });

  it('with Redis unreachable the run fails (the service tries again next round) and lists nothing', async () => {
    const down = createRedis({ REDIS_URL: 'redis://127.0.0.1:1' }, 'fail-fast', 'reconciler-test-down');
    down.on('error', () => {});
    try {
      const outcome = await reconcileSource({ ...reconcilerDeps(t).run, redis: down }, sourceWith());
      expect(outcome.result).toBe('failed');
      expect(apis.stripeEvents.calls).toHaveLength(0);
    } finally {
      down.disconnect();
    }
  });
});
