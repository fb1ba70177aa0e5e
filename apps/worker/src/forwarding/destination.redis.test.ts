import { bullPrefix, type EventStatus, eventJobId, jobOptions, QUEUES } from '@oncehook/shared';
import { DESTINATION_SECRET, startFakeDestination } from '@oncehook/testing';
import { Queue } from 'bullmq';
import { Webhook } from 'standardwebhooks';
import { afterEach, describe, expect, it } from 'vitest';
import { defineWorkflow } from '../engine/define-workflow.ts';
import { createTestEngine, type TestEngine } from '../testing/engine.ts';
import { createWorkers } from '../workers.ts';
import { destinationWorkflow } from './destination.ts';
import type { Destination } from './destinations-file.ts';

/**
 * A destination's workflow through real BullMQ workers, against a real HTTP server: the retry
 * schedule is the destination's own (deferrals, not job attempts), the limits hold, and every
 * request is recorded on the event.
 */
let t: TestEngine;
let events: Queue;
let fake: Awaited<ReturnType<typeof startFakeDestination>>;
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
  const wf = destinationWorkflow(destination(d), { redis: t.redis, keys: t.keys, backoffMs: 20 });
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
    expect(status.workflows[1]?.requests?.map((r) => r.status)).toEqual([503, 503, 503, 503, 503, 200]);
    const job = await new Queue(QUEUES.workflows, {
      connection: t.redis,
      prefix: bullPrefix(t.config),
    }).getJob(`${eventJobId(tag, receivedAt)}.orders-api`);
    // BullMQ counts the completion as its one attempt: the five waits used none.
    expect(job?.attemptsMade).toBe(1);
  });
});
