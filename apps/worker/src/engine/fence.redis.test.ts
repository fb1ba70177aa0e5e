import { type EventJob, eventJobId, keySlot, workflowJobId } from '@oncehook/shared';
import { afterEach, describe, expect, it } from 'vitest';
import { createTestEngine, type TestEngine } from '../testing/engine.ts';
import { defineWorkflow } from './define-workflow.ts';
import { NotReplicatedError } from './errors.ts';
import type { Fence } from './fence.ts';
import { takeLane } from './lane-scripts.ts';
import { seatFor } from './lane-seat.ts';
import type { RunEnd } from './run-workflow.ts';

/**
 * With ACK_REPLICAS, everything a job's completion depends on is waited for before the job goes
 * on: each step's commit (on a cluster, the shard of its writes too), the lane it parked in or
 * released, the job it woke, the jobs it fanned out. Seen through a fence that records what each
 * wait covers; a fence that says "not on the replicas" shows what the job does then.
 */
type Services = { wrote: string; gate: Promise<void> | null };
const writer = defineWorkflow<Services>('writer', { source: 'demo', type: 'write' })
  .step('put', (event, ctx) => {
    ctx.writes.hset(ctx.services.wrote, event.eventId, '1');
    return { ok: true };
  })
  .step('after', () => ({ done: true }));
const ordered = defineWorkflow<Services>('ordered', { source: 'demo', type: 'ordered' })
  .orderedBy()
  .step('touch', async (_e, ctx) => {
    if (ctx.services.gate) await ctx.services.gate;
    return { ok: true };
  });
const fanA = defineWorkflow<Services>('fan-a', { source: 'demo', type: 'fan' }).step('a', () => 1);
const fanB = defineWorkflow<Services>('fan-b', { source: 'demo', type: 'fan' }).step('b', () => 2);

let t: TestEngine;
let services: Services;
/** Each wait: what it was for, and the keys written so far. */
let waits: { what: string; keys: string[] }[];
/** Fails every wait whose name matches, from then on. */
let failing: RegExp | null;
let ends: RunEnd[];

async function setup() {
  services = { wrote: '', gate: null };
  t = await createTestEngine([writer, ordered, fanA, fanB], () => services, { ACK_REPLICAS: '1' });
  services.wrote = `${t.config.QUEUE_PREFIX}:wrote:{w}`;
  waits = [];
  failing = null;
  ends = [];
  t.engine.createFence = (): Fence => {
    const touched = new Set<string>();
    return {
      touch: (...keys) => {
        for (const k of keys) touched.add(k);
      },
      async wait(what) {
        waits.push({ what, keys: [...touched] });
        if (failing?.test(what)) throw new NotReplicatedError(`${what}: on 0 of 1 replicas`);
      },
    };
  };
  t.engine.observer = {
    stepDone() {},
    async runEnded(end) {
      ends.push(end);
    },
  };
}
afterEach(async () => {
  await t?.close();
});

describe('with ACK_REPLICAS, a job waits for what it wrote', () => {
  it('each step before the next effect; on a cluster, the shard of its writes too', async () => {
    await setup();
    for (const cluster of [false, true]) {
      const id = `evt_w_${cluster}`;
      const event = await t.acceptEvent(id, {}, { type: 'write' });
      const real = t.engine.redis;
      if (cluster) t.engine.redis = asCluster(real);
      waits = [];
      try {
        expect(await t.run(event.job)).toMatchObject({ outcome: 'completed' });
      } finally {
        t.engine.redis = real;
      }
      const put = waits.find((w) => w.what === 'step "put"');
      expect(put?.keys).toContain(t.keys.event(event.tag));
      expect(put?.keys).toContain(services.wrote);
      // On a cluster the writes commit beside a commit record in their own slot: waited for too.
      const commit = put?.keys.find((k) => k.includes(':commit:'));
      if (cluster) expect(keySlot(commit as string)).toBe(keySlot(services.wrote));
      else expect(commit).toBeUndefined();
      expect(waits.map((w) => w.what)).toEqual(['step "put"', 'step "after"', 'the job']);
    }
  });

  it('a fan-out: the jobs it added', async () => {
    await setup();
    const event = await t.acceptEvent('evt_fan', {}, { type: 'fan' });
    expect(await t.run(event.job)).toMatchObject({ outcome: 'dispatched' });
    const last = waits.at(-1);
    expect(last?.what).toBe('the job');
    for (const wf of ['fan-a', 'fan-b'])
      expect(last?.keys).toContain(t.workflowsQueue.toKey(workflowJobId(event.tag, event.receivedAt, wf)));
  });

  it('parking: the lane and the record, before the job is moved to wait', async () => {
    await setup();
    const a = (await t.acceptEvent('evt_pa', {}, { type: 'ordered', order: { key: 'k', at: 1 } })).job;
    const b = (await t.acceptEvent('evt_pb', {}, { type: 'ordered', order: { key: 'k', at: 2 } })).job;
    const seat = seatFor(ordered, a, jobIdOf(a)) as NonNullable<ReturnType<typeof seatFor>>;
    await takeLane(t.redis, t.keys, seat.lane, {
      ...seat,
      ref: { id: jobIdOf(a), queue: 'events', partition: [0, 1] },
      data: a,
    });
    t.jobs.set(jobIdOf(a), { data: a, state: 'active', attemptsStarted: 1 });
    waits = [];
    failing = /parking/;
    // Not on the replicas: the job is not parked (it would be lost with the lane): it waits.
    expect(await t.run(b)).toEqual({ outcome: 'deferred' });
    failing = null;
    expect(await t.run(b)).toEqual({ outcome: 'parked' });
    const parking = waits.filter((w) => w.what.startsWith('parking'));
    expect(parking).toHaveLength(2);
    expect(parking[1]?.keys).toEqual(
      expect.arrayContaining([t.keys.lane(seat.lane), t.keys.event(tagOf(b))]),
    );
  });

  it('a release: the lane and the job it woke, before the job completes', async () => {
    await setup();
    const a = (await t.acceptEvent('evt_ra', {}, { type: 'ordered', order: { key: 'k2', at: 1 } })).job;
    const b = (await t.acceptEvent('evt_rb', {}, { type: 'ordered', order: { key: 'k2', at: 2 } })).job;
    let open = () => {};
    services.gate = new Promise<void>((r) => {
      open = r;
    });
    const running = t.run(a);
    await new Promise((r) => setTimeout(r, 50));
    expect(await t.run(b)).toEqual({ outcome: 'parked' });
    waits = [];
    services.gate = null;
    open();
    expect(await running).toMatchObject({ outcome: 'completed' });
    const seat = seatFor(ordered, a, jobIdOf(a)) as NonNullable<ReturnType<typeof seatFor>>;
    expect(waits.at(-1)?.what).toBe('the lane it released');
    expect(waits.at(-1)?.keys).toEqual(
      expect.arrayContaining([
        t.keys.lane(seat.lane),
        t.engine.jobs.jobKey({ id: jobIdOf(b), queue: 'events', partition: [0, 1] }),
      ]),
    );
  });

  it('a run whose last commit is not on the replicas waits, on its last attempt too: no failure, no alert', async () => {
    await setup();
    const event = await t.acceptEvent('evt_last', {}, { type: 'write' });
    failing = /step "after"/;
    expect(await t.run(event.job, { attemptsMade: 7, maxAttempts: 8 })).toEqual({ outcome: 'deferred' });
    expect(t.jobs.get(jobIdOf(event.job))?.state).toBe('delayed');
    expect(ends).toEqual([]);
    expect((await t.status('evt_last'))?.state).toBe('completed');
    // Woken again: the run is complete; the job completes once that is on the replicas.
    failing = null;
    waits = [];
    expect(await t.run(event.job, { attemptsMade: 7, maxAttempts: 8 })).toEqual({ outcome: 'noop' });
    expect(waits.map((w) => w.what)).toEqual(['the job']);
    expect(waits[0]?.keys).toEqual([t.keys.event(event.tag)]);
  });
});

const jobIdOf = (e: EventJob) => eventJobId(tagOf(e), e.receivedAt);
const tagOf = (e: { source: string; eventId: string }) =>
  `${e.source}.${Buffer.from(e.eventId).toString('base64url')}`;

/** The same Redis, seen by the engine as a cluster: writes commit beside a commit record. */
function asCluster<T extends object>(real: T): T {
  return new Proxy(real, {
    get: (target, prop) => {
      if (prop === 'isCluster') return true;
      const value = Reflect.get(target, prop, target);
      return typeof value === 'function' ? value.bind(target) : value;
    },
  });
}

describe('a job whose Redis cannot serve it (a cluster slot down, a connection lost)', () => {
  it('waits, without using an attempt, and fails nothing: no dead letter, no alert', async () => {
    await setup();
    const event = await t.acceptEvent('evt_down', {}, { type: 'write' });
    const real = t.engine.redis;
    // The event's slot is down: every script on it is refused, as a cluster refuses it.
    t.engine.redis = new Proxy(real, {
      get: (target, prop) => {
        if (prop === 'evalsha' || prop === 'eval')
          return async () => {
            throw new Error(
              'Too many Cluster redirections. Last error: ReplyError: CLUSTERDOWN The cluster is down',
            );
          };
        const value = Reflect.get(target, prop, target);
        return typeof value === 'function' ? value.bind(target) : value;
      },
    });
    try {
      // Its last attempt, too.
      expect(await t.run(event.job, { attemptsMade: 7, maxAttempts: 8 })).toEqual({ outcome: 'deferred' });
    } finally {
      t.engine.redis = real;
    }
    expect(t.jobs.get(jobIdOf(event.job))?.state).toBe('delayed');
    expect(ends).toEqual([]);
    // Back: the same attempt runs it to the end.
    expect(await t.run(event.job, { attemptsMade: 7, maxAttempts: 8 })).toMatchObject({
      outcome: 'completed',
    });
  });
});
