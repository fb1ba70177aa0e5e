import {
  createKeys,
  createLogger,
  createRedis,
  eventJobId,
  eventTag,
  openQueues,
  type RedisClient,
  waitForRedis,
} from '@oncehook/shared';
import { adminHeaders, waitFor } from '@oncehook/testing';
import { afterEach, describe, expect, it } from 'vitest';
import { createTestApp, readJson, type TestApp } from '../apps/ingest/src/testing/app.ts';
import { defineWorkflow } from '../apps/worker/src/engine/define-workflow.ts';
import { PermanentError } from '../apps/worker/src/engine/workflow.ts';
import { parseWorkerEnv } from '../apps/worker/src/env.ts';
import { createWorkers } from '../apps/worker/src/workers.ts';

/**
 * Where ordering, replay, /status, fan-out and partitions meet, through the real ingest routes and
 * real BullMQ workers in one process: an ordered event that parked and then failed for good is
 * replayed (singly and in bulk) and runs once; /status follows the job that actually runs it; a
 * fan-out whose jobs could not be added reads failed and replays to completion.
 */
type Services = { ran: string[]; failing: Set<string>; gate: Promise<void> | null };
const services: Services = { ran: [], failing: new Set(), gate: null };
// Ordered by the demo body's `customer`, in `at` order.
const account = defineWorkflow<Services>('account', { source: 'demo', type: 'account.changed' })
  .orderedBy((e) => {
    const body = e.body as { customer: string; at: number };
    return { key: body.customer, at: body.at };
  })
  .step('apply', async (event, ctx) => {
    if (ctx.services.failing.has(event.eventId)) throw new Error('ledger API down');
    if (ctx.services.gate) await ctx.services.gate;
    ctx.services.ran.push(event.eventId);
    return { ok: true };
  });
const fanA = defineWorkflow<Services>('fan-a', { source: 'demo', type: 'order.paid' }).step('a', (e, ctx) => {
  if (ctx.services.failing.has(`${e.eventId}/a`)) throw new PermanentError('bad');
  ctx.services.ran.push(`${e.eventId}/a`);
  return 1;
});
const fanB = defineWorkflow<Services>('fan-b', { source: 'demo', type: 'order.paid' }).step('b', (e, ctx) => {
  ctx.services.ran.push(`${e.eventId}/b`);
  return 2;
});

let t: TestApp;
let redis: RedisClient;
let workers: ReturnType<typeof createWorkers> | undefined;
afterEach(async () => {
  await workers?.close();
  workers = undefined;
  redis?.disconnect();
  await t?.close();
  services.ran = [];
  services.failing.clear();
  services.gate = null;
});

async function boot(env: Record<string, string> = {}, { run = true } = {}) {
  t = await createTestApp({ STATUS_PUBLIC: 'true', MAX_ATTEMPTS: '2', BACKOFF_MS: '20', ...env });
  const config = parseWorkerEnv({
    REDIS_URL: process.env.REDIS_URL,
    QUEUE_PREFIX: t.config.QUEUE_PREFIX,
    LOG_LEVEL: 'silent',
    MAX_ATTEMPTS: '2',
    BACKOFF_MS: '20',
    // Completed jobs are not kept: nothing may depend on a job that completed `parked`.
    COMPLETED_JOBS_KEPT: '0',
    ...env,
  });
  redis = createRedis(config, 'patient', 'features-meet');
  await waitForRedis(redis);
  workers = createWorkers({
    config,
    redis,
    keys: createKeys(config.QUEUE_PREFIX),
    workflows: [account, fanA, fanB],
    services,
    log: createLogger(config, 'worker-test'),
  });
  if (run) workers.run();
}

const deliver = (id: string, type: string, body: Record<string, unknown> = {}) =>
  t.post('/webhook', { event_id: id, type, ...body });
const status = async (id: string) => readJson(await t.get(`/status/demo/${id}`));
const until = (id: string, state: string) =>
  waitFor(async () => (await status(id)).state === state, 30_000, `${id} ${state}`);

describe('an ordered event that parked, then failed for good', () => {
  it('/status follows the run that parked, and a replay runs it once (single and bulk)', async () => {
    await boot();
    let open = () => {};
    services.gate = new Promise<void>((r) => {
      open = r;
    });
    await deliver('a1', 'account.changed', { customer: 'c1', at: 1 });
    await waitFor(async () => (await status('a1')).state === 'processing', 10_000, 'a1 running');
    services.failing.add('a2');
    services.failing.add('a3');
    await deliver('a2', 'account.changed', { customer: 'c1', at: 2 });
    await deliver('a3', 'account.changed', { customer: 'c1', at: 3 });
    await waitFor(async () => (await status('a3')).waitingBehind === 'account c1', 10_000, 'a3 parked');
    expect(await status('a2')).toMatchObject({ state: 'queued', waitingBehind: 'account c1' });
    services.gate = null;
    open();
    await until('a2', 'failed');
    await until('a3', 'failed');
    expect(services.ran).toEqual(['a1']);
    // The dead letters are the events' own jobs.
    const listed = await readJson(await t.get('/admin/events?state=failed'));
    expect(listed.events.map((e: { eventId: string; jobId: string }) => [e.eventId, e.jobId]).sort()).toEqual(
      ['a2', 'a3'].map((id) => [id, jobIdOf(id)]),
    );

    services.failing.clear();
    const one = await t.app.request('/admin/replay/demo/a2', { method: 'POST', headers: adminHeaders() });
    expect(await readJson(one)).toMatchObject({ replayed: true, eventId: 'a2' });
    await until('a2', 'completed');
    const bulk = await t.app.request('/admin/replay?state=failed', {
      method: 'POST',
      headers: adminHeaders(),
    });
    expect((await readJson(bulk)).replayed.map((r: { eventId: string }) => r.eventId)).toEqual(['a3']);
    await until('a3', 'completed');
    expect(services.ran).toEqual(['a1', 'a2', 'a3']);
    expect(await redis.keys(`${t.config.QUEUE_PREFIX}:lane:*`)).toEqual([]);
  });
});

describe('a fan-out whose workflows jobs could not be added', () => {
  it('reads failed, not queued for good, and a replay runs its workflows once', async () => {
    await boot();
    // The workflows queue refuses every add (a full Redis, a denied command): fan-out fails.
    const queues = openQueues(t.config, redis);
    const refuse = queues.current()[0]?.workflows as { addBulk: unknown };
    const addBulk = Object.getPrototypeOf(refuse).addBulk;
    Object.getPrototypeOf(refuse).addBulk = async () => {
      throw new Error('OOM command not allowed');
    };
    try {
      await deliver('f1', 'order.paid');
      await until('f1', 'failed');
      expect((await status('f1')).error).toMatch(/could not hand the event to its workflows/);
    } finally {
      Object.getPrototypeOf(refuse).addBulk = addBulk;
      await queues.close();
    }
    const res = await t.app.request('/admin/replay/demo/f1', { method: 'POST', headers: adminHeaders() });
    expect(await readJson(res)).toMatchObject({ replayed: true });
    await until('f1', 'completed');
    expect(services.ran.sort()).toEqual(['f1/a', 'f1/b']);
  });
});

describe('partitions, and a record recreated by its job', () => {
  it('/status and replay find the job in the layout the job was taken from', async () => {
    await boot({ QUEUE_PARTITIONS: '3' }, { run: false });
    services.failing.add('p1/a');
    await deliver('p1', 'order.paid');
    // Workers down longer than the window: the record is gone when the job runs, which recreates it.
    await redis.del(t.keys.event(eventTag('demo', 'p1')));
    workers?.run();
    await until('p1', 'failed');
    services.failing.clear();
    const res = await t.app.request('/admin/replay/demo/p1', { method: 'POST', headers: adminHeaders() });
    expect(await readJson(res)).toMatchObject({ replayed: true });
    await until('p1', 'completed');
    expect(services.ran.sort()).toEqual(['p1/a', 'p1/b']);
  });
});

const jobIdOf = (id: string) => {
  const tag = eventTag('demo', id);
  return expect.stringMatching(new RegExp(`^${eventJobId(tag, 0).split('.')[0]}\\.`));
};
