import {
  bullPrefix,
  type EventStatus,
  eventJobId,
  jobOptions,
  QUEUES,
  workflowJobId,
} from '@oncehook/shared';
import { Queue } from 'bullmq';
import { afterEach, describe, expect, it } from 'vitest';
import { createTestEngine, type TestEngine } from '../testing/engine.ts';
import { createWorkers } from '../workers.ts';
import { defineWorkflow } from './define-workflow.ts';
import { PermanentError } from './workflow.ts';

/** Two independent consumers of one event type, with faults to inject per workflow. */
function testServices() {
  return { calls: new Map<string, number>(), faults: new Map<string, (call: number) => Error | null>() };
}
type Services = ReturnType<typeof testServices>;

function touch(s: Services, name: string) {
  const call = (s.calls.get(name) ?? 0) + 1;
  s.calls.set(name, call);
  const fault = s.faults.get(name)?.(call);
  if (fault) throw fault;
  return { call };
}

const fulfil = defineWorkflow<Services>('fulfil', { source: 'demo', type: 'order.paid' })
  .step('pick', (event, ctx) => touch(ctx.services, `${event.eventId}/pick`))
  .step('ship', (event, ctx) => touch(ctx.services, `${event.eventId}/ship`));
const analytics = defineWorkflow<Services>('analytics', { source: 'demo', type: 'order.paid' }).step(
  'count',
  (event, ctx) => touch(ctx.services, `${event.eventId}/count`),
);

let t: TestEngine;
let services: Services;
let events: Queue;
let closeWorkers = async () => {};

async function setup() {
  services = testServices();
  t = await createTestEngine([fulfil, analytics], () => services);
  const prefix = bullPrefix(t.config);
  events = new Queue(QUEUES.events, { connection: t.redis, prefix });
}

/** What the ingest does for an accepted delivery: the record, then one `events` job. */
async function deliver(eventId: string, type = 'order.paid') {
  const event = await t.acceptEvent(eventId, { id: eventId }, { type });
  await events.add('event', event.job, {
    ...jobOptions(t.config, event.windowSeconds),
    jobId: eventJobId(event.tag, event.receivedAt),
  });
  return event;
}

async function waitForState(eventId: string, states: string[]): Promise<EventStatus> {
  const deadline = Date.now() + 20_000;
  for (;;) {
    const status = await t.status(eventId);
    if (status && states.includes(status.state)) return status;
    if (Date.now() > deadline) throw new Error(`${eventId} still ${status?.state}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

afterEach(async () => {
  await closeWorkers();
  closeWorkers = async () => {};
  await events?.close();
  await t?.close();
});

describe('an events job with several workflows', () => {
  it('adds one job per workflow, once, and lists the workflows on the event', async () => {
    await setup();
    const { job, tag, receivedAt } = await deliver('ord_1');
    expect(await t.run(job)).toEqual({ outcome: 'dispatched', workflows: ['fulfil', 'analytics'] });
    await t.run(job, { attemptsStarted: 2 });

    const jobs = await t.workflowsQueue.getJobs(['waiting']);
    expect(jobs.map((j) => j.id).sort()).toEqual([
      workflowJobId(tag, receivedAt, 'analytics'),
      workflowJobId(tag, receivedAt, 'fulfil'),
    ]);
    expect(jobs.every((j) => !j.id?.includes(':'))).toBe(true);
    expect(jobs[0]?.opts.attempts).toBe(t.config.MAX_ATTEMPTS);
    const status = await t.status('ord_1');
    expect(status?.state).toBe('queued');
    expect(status?.workflows.map((w) => [w.name, w.state, w.steps.map((s) => s.done)])).toEqual([
      ['fulfil', 'queued', [false, false]],
      ['analytics', 'queued', [false]],
    ]);
  });

  it('records an event no workflow handles as ignored', async () => {
    await setup();
    const { job } = await deliver('evt_other', 'customer.created');
    expect((await t.run(job)).outcome).toBe('ignored');
    expect(await t.status('evt_other')).toMatchObject({ state: 'ignored', steps: [] });
    expect(await t.workflowsQueue.count()).toBe(0);
  });

  it('does nothing for an event job added again after the event completed', async () => {
    await setup();
    const { job, tag } = await deliver('ord_done');
    await t.redis.hset(t.keys.event(tag), 'state', 'completed');
    expect((await t.run(job)).outcome).toBe('noop');
    expect(await t.workflowsQueue.count()).toBe(0);
  });
});

describe('fan-out through real BullMQ workers', () => {
  it('runs each workflow on its own: one retrying or failing neither blocks nor re-runs another', async () => {
    await setup();
    const workers = createWorkers({
      config: t.config,
      redis: t.redis,
      keys: t.keys,
      workflows: [fulfil, analytics],
      services,
      log: t.engine.log,
    });
    workers.run();
    closeWorkers = () => workers.close();
    // ord_a: shipping fails twice, then works. ord_b: analytics fails for good.
    services.faults.set('ord_a/ship', (call) => (call <= 2 ? new Error('carrier API 503') : null));
    services.faults.set('ord_b/count', () => new PermanentError('malformed order'));
    await deliver('ord_a');
    await deliver('ord_b');

    const a = await waitForState('ord_a', ['completed', 'failed']);
    expect(a.state).toBe('completed');
    expect(a.workflows.map((w) => [w.name, w.state, w.attempts])).toEqual([
      ['fulfil', 'completed', 3],
      ['analytics', 'completed', 1],
    ]);
    expect(a.steps.map((s) => s.name)).toEqual(['fulfil/pick', 'fulfil/ship', 'analytics/count']);
    expect(services.calls.get('ord_a/pick')).toBe(1);
    expect(services.calls.get('ord_a/ship')).toBe(3);
    expect(services.calls.get('ord_a/count')).toBe(1);

    const b = await waitForState('ord_b', ['failed']);
    expect(b.workflows.map((w) => [w.name, w.state])).toEqual([
      ['fulfil', 'completed'],
      ['analytics', 'failed'],
    ]);
    expect(b.error).toContain('analytics: malformed order');
    expect(services.calls.get('ord_b/count')).toBe(1);
    expect(services.calls.get('ord_b/ship')).toBe(1);
    expect(await t.workflowsQueue.getFailedCount()).toBe(1);
  });
});
