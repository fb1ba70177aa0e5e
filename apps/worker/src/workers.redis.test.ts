import { eventJobId, jobOptions, openQueues, type PartitionedQueues, partitionIndex } from '@oncehook/shared';
import { waitFor } from '@oncehook/testing';
import { afterEach, describe, expect, it } from 'vitest';
import { defineWorkflow } from './engine/define-workflow.ts';
import { createTestEngine, type TestEngine } from './testing/engine.ts';
import { createWorkers } from './workers.ts';

// Two workflows per event, so that every event also fans out to a `workflows` queue.
type Services = { runs: Map<string, number> };
const count = (s: Services, name: string) => {
  s.runs.set(name, (s.runs.get(name) ?? 0) + 1);
  return { ok: true };
};
const fulfil = defineWorkflow<Services>('fulfil', { source: 'demo', type: 'order.paid' }).step(
  'ship',
  (e, ctx) => count(ctx.services, `${e.eventId}/ship`),
);
const analytics = defineWorkflow<Services>('analytics', { source: 'demo', type: 'order.paid' }).step(
  'count',
  (e, ctx) => count(ctx.services, `${e.eventId}/count`),
);

let t: TestEngine;
let services: Services;
const opened: { close(): Promise<void> }[] = [];
afterEach(async () => {
  for (const o of opened.splice(0).reverse()) await o.close();
  await t?.close();
});

async function setup(partitions: number) {
  services = { runs: new Map() };
  t = await createTestEngine([fulfil, analytics], () => services, { QUEUE_PARTITIONS: String(partitions) });
}

/** What an ingest with `partitions` does for a new event: the record (with its layout), the job. */
async function deliver(queues: PartitionedQueues, eventId: string, delay = 0) {
  const event = await t.acceptEvent(
    eventId,
    { id: eventId },
    { type: 'order.paid', partitions: queues.count },
  );
  const { events } = queues.forEvent(event.tag, queues.count);
  await events.add('event', event.job, {
    ...jobOptions(t.config, event.windowSeconds),
    jobId: eventJobId(event.tag, event.receivedAt),
    delay,
  });
  return event;
}

function start(env: { QUEUE_PARTITIONS: number; WORKER_PARTITIONS?: number[] }) {
  const workers = createWorkers({
    config: { ...t.config, ...env },
    redis: t.redis,
    keys: t.keys,
    workflows: [fulfil, analytics],
    services,
    log: t.engine.log,
    drainEveryMs: 200,
  });
  workers.run();
  opened.push(workers);
  return workers;
}

const done = (eventId: string) =>
  services.runs.get(`${eventId}/ship`) === 1 && services.runs.get(`${eventId}/count`) === 1;

describe('workers over queue partitions', () => {
  it('take jobs only from WORKER_PARTITIONS, and fan an event out within its own partition', async () => {
    await setup(3);
    const queues = openQueues({ ...t.config, QUEUE_PARTITIONS: 3 }, t.redis);
    opened.push(queues);
    const ids = Array.from({ length: 30 }, (_, i) => `ord_${i}`);
    const events = await Promise.all(ids.map((id) => deliver(queues, id)));
    const where = new Map(events.map((e) => [e.eventId, partitionIndex(e.tag, 3)]));
    expect(new Set(where.values())).toEqual(new Set([0, 1, 2]));

    const workers = start({ QUEUE_PARTITIONS: 3, WORKER_PARTITIONS: [0, 2] });
    expect(workers.partitions()).toEqual(['p0of3', 'p2of3']);
    const mine = ids.filter((id) => where.get(id) !== 1);
    await waitFor(() => mine.every(done), 20_000, 'events of partitions 0 and 2 done');
    // Partition 1's events wait for a worker that takes partition 1.
    const others = ids.filter((id) => where.get(id) === 1);
    expect(others.filter((id) => services.runs.has(`${id}/ship`))).toEqual([]);
    expect(await queues.pair(1, 3).events.getWaitingCount()).toBe(others.length);

    // Each fan-out job sits in its event's partition's `workflows` queue.
    for (const p of [0, 2]) {
      const fanned = await queues.pair(p, 3).workflows.getJobs(['completed']);
      expect(fanned.length).toBe(2 * mine.filter((id) => where.get(id) === p).length);
      for (const job of fanned) expect(where.get(job.data.eventId)).toBe(p);
    }

    start({ QUEUE_PARTITIONS: 3, WORKER_PARTITIONS: [1] });
    await waitFor(() => ids.every(done), 20_000, 'every event done once');
    expect([...services.runs.values()].every((n) => n === 1)).toBe(true);
  });

  it('drain the partitions of an earlier QUEUE_PARTITIONS, retries included: nothing stranded, nothing twice', async () => {
    await setup(1);
    const before = openQueues({ ...t.config, QUEUE_PARTITIONS: 1 }, t.redis);
    opened.push(before);
    const waiting = await Promise.all(['old_0', 'old_1', 'old_2'].map((id) => deliver(before, id)));
    // One event delayed (as a retry waiting for its backoff is) in the old layout.
    const retrying = await deliver(before, 'old_retrying', 1500);

    // The system restarts with 3 partitions: new events go there, old ones are drained.
    const after = openQueues({ ...t.config, QUEUE_PARTITIONS: 3 }, t.redis);
    opened.push(after);
    const fresh = await Promise.all(['new_0', 'new_1', 'new_2', 'new_3'].map((id) => deliver(after, id)));
    const workers = start({ QUEUE_PARTITIONS: 3 });
    const all = [...waiting, retrying, ...fresh].map((e) => e.eventId);
    await waitFor(() => all.every(done), 20_000, 'old and new events done');
    expect(workers.partitions()).toContain('p0of1');
    expect([...services.runs.values()].every((n) => n === 1)).toBe(true);
    expect(await t.redis.hget(t.keys.event(fresh[0]!.tag), 'q')).toBe('3');
    expect(await t.redis.hexists(t.keys.event(waiting[0]!.tag), 'q')).toBe(0);
  });
});
