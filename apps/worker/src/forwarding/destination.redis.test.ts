import { bullPrefix, type EventStatus, eventJobId, jobOptions, QUEUES } from '@oncehook/shared';
import { DESTINATION_SECRET, startFakeDestination } from '@oncehook/testing';
import { Queue } from 'bullmq';
import { Webhook } from 'standardwebhooks';
import { afterEach, describe, expect, it } from 'vitest';
import { defineWorkflow } from '../engine/define-workflow.ts';
import { createWorkerMetrics, type WorkerMetrics } from '../observability/metrics.ts';
import { createTestEngine, type TestEngine } from '../testing/engine.ts';
import { createWorkers } from '../workers.ts';
import { destinationWorkflow } from './destination.ts';
import type { Destination } from './destinations-file.ts';
import { oldestWaiting } from './limits.ts';
import { logRequest } from './request-log.ts';

/**
 * A destination's workflow through real BullMQ workers, against a real HTTP server: the retry
 * schedule is the destination's own (deferrals, not job attempts), the limits hold, and every
 * request is recorded on the event.
 */
let t: TestEngine;
let events: Queue;
let fake: Awaited<ReturnType<typeof startFakeDestination>>;
let metrics: WorkerMetrics;
const closing: (() => Promise<unknown>)[] = [];

afterEach(async () => {
  for (const close of closing.splice(0)) await close();
});

const destination = (d: Partial<Destination> = {}): Destination => ({
  name: 'orders-api',
  url: fake.url,
  sources: ['*'],
  types: ['order.*'],
  secretEnv: 'X',
  timeoutMs: 2000,
  ordered: false,
  retryForHours: 24,
  signer: new Webhook(DESTINATION_SECRET),
  ...d,
});

async function setup(d: Partial<Destination> = {}, workers = 1) {
  fake = await startFakeDestination();
  const own = defineWorkflow('own', { source: 'demo', type: 'order.paid' }).step('noop', () => ({
    ok: true,
  }));
  t = await createTestEngine([own], () => ({}), { BACKOFF_MS: '20' });
  events = new Queue(QUEUES.events, { connection: t.redis, prefix: bullPrefix(t.config) });
  metrics = createWorkerMetrics(() => [], ['own', 'orders-api'], {
    names: ['orders-api'],
    oldestWaiting: (name) => oldestWaiting(t.redis, t.keys, name),
  });
  const wf = destinationWorkflow(destination(d), { redis: t.redis, keys: t.keys, backoffMs: 20, metrics });
  for (let i = 0; i < workers; i++) {
    const w = createWorkers({
      config: t.config,
      redis: t.redis,
      keys: t.keys,
      workflows: [own, wf],
      services: {},
      log: t.engine.log,
    });
    w.run();
    closing.push(() => w.close());
  }
  closing.push(
    () => events.close(),
    () => t.close(),
    () => fake.close(),
  );
}

async function deliver(eventId: string, type = 'order.paid') {
  const event = await t.acceptEvent(eventId, { id: eventId }, { type });
  await events.add('event', event.job, {
    ...jobOptions(t.config, event.windowSeconds),
    jobId: eventJobId(event.tag, event.receivedAt),
  });
  return event;
}

async function settled(eventId: string): Promise<EventStatus> {
  const deadline = Date.now() + 20_000;
  for (;;) {
    const status = await t.status(eventId);
    if (status && ['completed', 'failed'].includes(status.state)) return status;
    if (Date.now() > deadline) throw new Error(`${eventId} still ${status?.state}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

describe('a destination', () => {
  it('is retried on its own schedule without using job attempts, beside the workflow of the same event', async () => {
    await setup();
    let failing = 5;
    fake.answerWith(() => (failing-- > 0 ? { status: 503, body: 'busy' } : { status: 200, body: 'ok' }));
    const { tag, receivedAt } = await deliver('ord_1');
    const status = await settled('ord_1');
    expect(status.workflows.map((w) => [w.name, w.state, w.attempts])).toEqual([
      ['own', 'completed', 1],
      ['orders-api', 'completed', 1],
    ]);
    // The requests that did not deliver; the one that did is the step's result.
    expect(status.workflows[1]?.requests?.map((r) => r.status)).toEqual([503, 503, 503, 503, 503]);
    expect(status.workflows[1]?.steps[0]?.result).toMatchObject({ status: 200, answer: 'ok' });
    const job = await new Queue(QUEUES.workflows, {
      connection: t.redis,
      prefix: bullPrefix(t.config),
    }).getJob(`${eventJobId(tag, receivedAt)}.orders-api`);
    // BullMQ counts the completion as its one attempt: the five waits used none.
    expect(job?.attemptsMade).toBe(1);
  });
});

const sample = async (line: RegExp) => {
  const text = await metrics.registry.metrics();
  return Number(
    text
      .split('\n')
      .find((l) => line.test(l))
      ?.split(' ')
      .at(-1) ?? Number.NaN,
  );
};

describe("a destination's metrics", () => {
  it('count requests by outcome and status class, and show how long the oldest event has waited', async () => {
    await setup();
    fake.answerWith(() => ({ status: 502, body: 'bad gateway' }));
    await deliver('ord_m');
    await new Promise((r) => setTimeout(r, 300));
    expect(
      await sample(/^oncehook_destination_oldest_waiting_seconds\{destination="orders-api"\}/),
    ).toBeGreaterThan(0);
    fake.answerWith(() => ({ status: 200, body: 'ok' }));
    expect((await settled('ord_m')).state).toBe('completed');
    const retried = await sample(
      /^oncehook_destination_requests_total\{destination="orders-api",outcome="retried",status="5xx"\}/,
    );
    expect(retried).toBeGreaterThan(0);
    expect(
      await sample(
        /^oncehook_destination_requests_total\{destination="orders-api",outcome="delivered",status="2xx"\}/,
      ),
    ).toBe(1);
    expect(
      await sample(/^oncehook_destination_request_duration_seconds_count\{destination="orders-api"\}/),
    ).toBe(retried + 1);
  });
});

describe('retrying for retryForHours', () => {
  it('gives up once the window is over: a dead letter, whose replay is retried for a new window', async () => {
    await setup({ retryForHours: 0.5 / 3600 }); // half a second
    fake.answerWith(() => ({ status: 503, body: 'busy' }));
    const { tag, receivedAt } = await deliver('ord_w');
    const failed = await settled('ord_w');
    expect(failed.state).toBe('failed');
    expect(failed.error).toMatch(/orders-api answered 503; retried for 0.0001\d* h: given up/);
    const tries = failed.workflows[1]?.requests?.length ?? 0;
    expect(tries).toBeGreaterThan(1);
    // An operator's replay (the record's `reruns` moves on) starts a new window: its first failure is
    // again the window's first.
    const log = () =>
      logRequest(t.redis, t.keys, tag, {
        gen: receivedAt,
        destination: 'orders-api',
        request: { at: 0, status: 503, ms: 1 },
      });
    expect((await log()).failures).toBe(tries + 1);
    await t.redis.hincrby(t.keys.event(tag), 'reruns', 1);
    const renewed = await log();
    expect(renewed.failures).toBe(1);
    expect(renewed.start).toBeGreaterThan(receivedAt);
  });

  it("schedules its next request no sooner than a 429's Retry-After says", async () => {
    await setup();
    fake.answerWith((_hit, n) =>
      n === 1
        ? { status: 429, body: 'slow down', headers: { 'retry-after': '30' } }
        : { status: 200, body: 'ok' },
    );
    await deliver('ord_429');
    const deadline = Date.now() + 20_000;
    let status = await t.status('ord_429');
    while (!status?.workflows[1]?.error && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 25));
      status = await t.status('ord_429');
    }
    const run = status?.workflows[1];
    const next = Date.parse(/next request (\S+)$/.exec(run?.error ?? '')?.[1] ?? '');
    // BACKOFF_MS is 20 here: only the answer's 30 s put the next request that far out.
    expect(next - (run?.requests?.[0]?.at ?? 0)).toBeGreaterThanOrEqual(29_000);
    expect(run?.state).toBe('retrying');
  });

  it('fails at once on a 4xx other than 408, 409, 425 and 429, and on a redirect, which it does not follow', async () => {
    await setup();
    fake.answerWith((hit) =>
      hit.headers['x-oncehook-event-id'] === 'ord_404'
        ? { status: 404, body: 'no such route. '.repeat(100) }
        : { status: 301, body: '', headers: { location: 'http://127.0.0.1:1/moved' } },
    );
    await deliver('ord_404');
    await deliver('ord_301');
    for (const [id, status] of [
      ['ord_404', 404],
      ['ord_301', 301],
    ] as const) {
      const s = await settled(id);
      expect(s.state).toBe('failed');
      expect(s.workflows[1]?.requests?.map((r) => r.status)).toEqual([status]);
      // The answer as far as its first 512 bytes.
      expect(s.workflows[1]?.requests?.[0]?.answer).toHaveLength(status === 404 ? 512 : 0);
      expect(s.workflows[1]?.error).toMatch(new RegExp(`answered ${status}: not retried`));
    }
    expect(fake.hits).toHaveLength(2);
  });
});
