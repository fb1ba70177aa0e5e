import { claimReplay, type EventJob, eventJobId, keySlot, type RedisClient } from '@oncehook/shared';
import { UnrecoverableError } from 'bullmq';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createTestEngine, type TestEngine } from '../testing/engine.ts';
import { defineWorkflow } from './define-workflow.ts';
import { releaseLane, takeLane } from './lane-scripts.ts';
import { seatFor } from './lane-seat.ts';
import { createRegistry } from './registry.ts';
import { PermanentError } from './workflow.ts';

/** The runs of the ordered test workflow, in the order they happened; a gate holds one open. */
function testServices() {
  return {
    ran: [] as string[],
    gate: null as Promise<void> | null,
    fail: new Map<string, Error>(),
  };
}
type Services = ReturnType<typeof testServices>;

const touch = async (event: { eventId: string }, ctx: { services: Services }) => {
  const fault = ctx.services.fail.get(event.eventId);
  if (fault) {
    ctx.services.fail.delete(event.eventId);
    throw fault;
  }
  ctx.services.ran.push(event.eventId);
  if (ctx.services.gate) await ctx.services.gate;
  return { ok: true };
};
const ordered = defineWorkflow<Services>('ordered', { source: 'demo', type: 'object.changed' })
  .orderedBy()
  .step('touch', touch);
const unordered = defineWorkflow<Services>('unordered', { source: 'demo', type: 'object.other' }).step(
  'touch',
  (event, ctx) => void ctx.services.ran.push(event.eventId),
);

// Two workflows of one type: the event fans out, and the ordered one orders its own jobs.
const orderedTwin = defineWorkflow<Services>('ordered-twin', { source: 'demo', type: 'object.both' })
  .orderedBy()
  .step('touch', (event, ctx) => void ctx.services.ran.push(`twin:${event.eventId}`));
const audit = defineWorkflow<Services>('audit', { source: 'demo', type: 'object.both' }).step(
  'touch',
  (event, ctx) => void ctx.services.ran.push(`audit:${event.eventId}`),
);

let t: TestEngine;
let services: Services;
beforeEach(async () => {
  services = testServices();
  t = await createTestEngine([ordered, unordered, orderedTwin, audit], () => services);
});
afterEach(async () => {
  await t.close();
});

const tick = () => new Promise((r) => setTimeout(r, 3));
async function accept(id: string, at: number, key = 'obj_1', type = 'object.changed') {
  const e = await t.acceptEvent(id, { id }, { type, order: { key, at } });
  await tick(); // distinct arrival times
  return e.job;
}
/** Holds every run of the ordered workflow in its step until the returned function is called. */
function holdRuns(): () => void {
  let open = () => {};
  services.gate = new Promise<void>((r) => {
    open = r;
  });
  return () => {
    services.gate = null;
    open();
  };
}
const laneKeys = async () => t.redis.keys(`${t.config.QUEUE_PREFIX}:lane:*`);

/** Runs what the lanes handed on, as a worker would take the added jobs, until none is left. */
async function drainHanded() {
  while (t.handed.length > 0) {
    const { data, jobId } = t.handed.shift()!;
    expect(await t.run(data, { id: jobId })).toMatchObject({ outcome: 'completed' });
  }
}

const jobIdOf = (e: EventJob) => eventJobId(tagOf(e), e.receivedAt);

describe('ordering lanes', () => {
  it('parks the events of a key while one runs, then runs them by provider time, ties by arrival', async () => {
    const first = await accept('e1', 1000);
    const later = await accept('e3', 3000);
    const tieA = await accept('e2a', 2000);
    const tieB = await accept('e2b', 2000);
    const open = holdRuns();
    const running = t.run(first);
    await expect.poll(() => services.ran).toEqual(['e1']);
    // No slot held, no polling, no attempt used: each job waits `delayed`.
    for (const job of [later, tieB, tieA]) {
      expect(await t.run(job)).toEqual({ outcome: 'parked' });
      expect(t.jobs.get(jobIdOf(job))?.state).toBe('delayed');
    }
    expect(t.handed).toEqual([]);
    // /status says what a parked event waits for.
    expect(await t.status('e3')).toMatchObject({ state: 'queued', waitingBehind: 'ordered obj_1' });
    open();
    expect(await running).toMatchObject({ outcome: 'completed' });

    // Handed to the earliest waiting event: its own job is woken, under its own id.
    expect(t.handed.map((h) => h.jobId)).toEqual([jobIdOf(tieA)]);
    await drainHanded();
    expect(services.ran).toEqual(['e1', 'e2a', 'e2b', 'e3']);
    expect(await laneKeys()).toEqual([]);
    for (const id of ['e1', 'e2a', 'e2b', 'e3']) {
      const status = await t.status(id);
      expect(status?.state).toBe('completed');
      expect(status?.waitingBehind).toBeUndefined();
    }
  });

  it('a replayed event takes its lane again: at once when free, behind the holder when not', async () => {
    const a = await accept('ra', 1000);
    const b = await accept('rb', 2000);
    services.fail.set('ra', new PermanentError('payments API down'));
    await expect(t.run(a)).rejects.toThrow('payments API down');
    expect((await t.status('ra'))?.state).toBe('failed');
    // What the admin replay does to the record (the job is then retried under its id).
    const replayA = async () =>
      expect(
        await claimReplay(t.redis, t.keys, tagOf(a), {
          gen: a.receivedAt,
          reruns: 0,
          runs: ['ordered'],
          keepUntil: Date.now() + 60_000,
        }),
      ).toMatchObject({ kind: 'claimed' });

    // Replayed while b holds the lane: it waits behind b, then runs.
    const open = holdRuns();
    const running = t.run(b);
    await expect.poll(() => services.ran).toEqual(['rb']);
    await replayA();
    expect(await t.run(a)).toEqual({ outcome: 'parked' });
    open();
    expect(await running).toMatchObject({ outcome: 'completed' });
    expect(t.handed.map((h) => h.jobId)).toEqual([jobIdOf(a)]);
    await drainHanded();
    expect(services.ran).toEqual(['rb', 'ra']);
    expect((await t.status('ra'))?.state).toBe('completed');
    expect(await laneKeys()).toEqual([]);
  });

  it('keeps the lane through retries, and hands it on when the run fails for good', async () => {
    const a = await accept('a', 1000);
    const b = await accept('b', 2000);
    const c = await accept('c', 3000);
    services.fail.set('a', new Error('flaky'));
    await expect(t.run(a, { attemptsMade: 0, maxAttempts: 3 })).rejects.toThrow('flaky');
    // Still a's: b waits for a's retry.
    expect(await t.run(b)).toEqual({ outcome: 'parked' });
    expect(await t.run(a, { attemptsMade: 1, maxAttempts: 3 })).toMatchObject({ outcome: 'completed' });
    expect(t.handed).toHaveLength(1);

    services.fail.set('b', new PermanentError('bad data'));
    expect(await t.run(c)).toEqual({ outcome: 'parked' });
    const handedB = t.handed.shift()!;
    await expect(t.run(handedB.data, { id: handedB.jobId })).rejects.toThrow('bad data');
    // The run that failed for good is b's own job: the one a replay retries, and /status reads.
    expect(t.jobs.get(jobIdOf(b))?.state).toBe('failed');
    await drainHanded();
    expect(services.ran).toEqual(['a', 'c']);
    expect(await laneKeys()).toEqual([]);
  });

  it("orders a fanned-out workflow's own jobs, and leaves the event's other workflows alone", async () => {
    const a = await accept('fa', 1000, 'obj_2', 'object.both');
    const b = await accept('fb', 2000, 'obj_2', 'object.both');
    expect(await t.run(a)).toMatchObject({ outcome: 'dispatched' });
    expect(await t.run(b)).toMatchObject({ outcome: 'dispatched' });
    const twinA = t.jobFor({ job: a }, 'ordered-twin');
    expect(await t.run(twinA)).toMatchObject({ outcome: 'completed' });
    expect(await laneKeys()).toEqual([]);
    // While another run of the key holds the twin's lane, b's twin parks; b's audit does not wait.
    const holder = seatFor(orderedTwin, twinA, 'held') as NonNullable<ReturnType<typeof seatFor>>;
    await takeLane(t.redis, t.keys, holder.lane, { ...holder, ref: ref('held'), data: twinA });
    t.jobs.set('held', { data: twinA, state: 'active', attemptsStarted: 1 });
    expect(await t.run(t.jobFor({ job: b }, 'ordered-twin'))).toEqual({ outcome: 'parked' });
    expect(await t.run(t.jobFor({ job: b }, 'audit'))).toMatchObject({ outcome: 'completed' });
    expect(services.ran).toEqual(['twin:fa', 'audit:fb']);
  });

  it('runs events without a key, and workflows that are not ordered, with no lane', async () => {
    const keyless = await t.acceptEvent('k', { id: 'k' }, { type: 'object.changed' });
    expect(await t.run(keyless.job)).toMatchObject({ outcome: 'completed' });
    const other = await accept('o', 1000, 'obj_1', 'object.other');
    expect(await t.run(other)).toMatchObject({ outcome: 'completed' });
    expect(await laneKeys()).toEqual([]);
  });
});

describe('a parked event and its record', () => {
  it('outlives its window while it waits, and runs once when its turn comes', async () => {
    const a = await accept('pa', 1000);
    const b = await accept('pb', 2000);
    services.fail.set('pb', new Error('flaky'));
    // b ran once and failed (its record holds that run), then was replayed behind a slow holder.
    const open = holdRuns();
    const running = t.run(a);
    await expect.poll(() => services.ran).toEqual(['pa']);
    const key = t.keys.event(tagOf(b));
    // The window, shortened: the record has 300 ms left when b parks.
    await t.redis.pexpire(key, 300);
    expect(await t.run(b, { attemptsStarted: 2 })).toEqual({ outcome: 'parked' });
    expect(await t.redis.pttl(key)).toBe(-1);
    await new Promise((r) => setTimeout(r, 600));
    expect(await t.redis.exists(key)).toBe(1);
    open();
    await running;
    // Its turn: its own job runs (not a first start), finds its record (in flight: no expiry),
    // and the record gets one back when the event finished.
    const handed = t.handed.shift()!;
    await expect(t.run(handed.data, { id: handed.jobId })).rejects.toThrow('flaky');
    expect(await t.redis.pttl(key)).toBe(-1);
    expect(await t.run(handed.data, { id: handed.jobId, attemptsMade: 1 })).toMatchObject({
      outcome: 'completed',
    });
    expect(await t.redis.pttl(key)).toBeGreaterThan(0);
    expect(services.ran).toEqual(['pa', 'pb']);
  });

  it('an event that already ran, whose job runs again behind the next one, does not run again', async () => {
    const a = await accept('ra1', 1000);
    const b = await accept('ra2', 2000);
    expect(await t.run(a)).toMatchObject({ outcome: 'completed' });
    // b holds the lane now; a's worker died after its release, before its job completed: stalled
    // recovery runs a's job again, behind b.
    const open = holdRuns();
    const running = t.run(b);
    await expect.poll(() => services.ran).toEqual(['ra1', 'ra2']);
    expect(await t.run(a, { attemptsStarted: 2 })).toEqual({ outcome: 'noop' });
    open();
    await running;
    expect(services.ran).toEqual(['ra1', 'ra2']);
    expect(t.handed).toEqual([]);
    expect(await laneKeys()).toEqual([]);
  });

  it('a record gone while the job waited: recreated by a first start (with its layout), lost otherwise', async () => {
    const a = await accept('ga', 1000);
    const b = await accept('gb', 2000);
    const c = await accept('gc', 3000);
    await takeLane(t.redis, t.keys, seatOf(a).lane, { ...seatOf(a), ref: ref('holder'), data: a });
    t.jobs.set('holder', { data: a, state: 'active', attemptsStarted: 1 });
    await t.redis.del(t.keys.event(tagOf(b)), t.keys.event(tagOf(c)));
    expect(await t.run(b)).toEqual({ outcome: 'parked' });
    expect(await t.redis.hgetall(t.keys.event(tagOf(b)))).toMatchObject({
      receivedAt: String(b.receivedAt),
      w: 'ordered obj_1',
    });
    // c failed an attempt before: its markers went with its record. It fails for good, and leaves the lane.
    const err = await t.run(c, { attemptsMade: 1, attemptsStarted: 2 }).catch((e) => e);
    expect(err).toBeInstanceOf(UnrecoverableError);
    expect(await t.redis.zrange(t.keys.laneWaiting(seatOf(a).lane), '0', '-1')).toEqual([seatOf(b).member]);
  });
});

describe('a lane whose holder will not release it', () => {
  it('is released for a holder whose job is gone, by the next event that parks or wakes', async () => {
    const a = await accept('ha', 1000);
    const b = await accept('hb', 2000);
    await takeLane(t.redis, t.keys, seatOf(a).lane, { ...seatOf(a), ref: ref('removed-by-hand'), data: a });
    expect(await t.run(b)).toMatchObject({ outcome: 'completed' });
    expect(services.ran).toEqual(['hb']);
    expect(await laneKeys()).toEqual([]);
  });

  it('is released for a holder whose job completed without releasing it (a release lost)', async () => {
    const a = await accept('ca', 1000);
    const b = await accept('cb', 2000);
    await takeLane(t.redis, t.keys, seatOf(a).lane, { ...seatOf(a), ref: ref('done'), data: a });
    t.jobs.set('done', { data: a, state: 'active', attemptsStarted: 1 });
    expect(await t.run(b)).toEqual({ outcome: 'parked' });
    t.jobs.set('done', { data: a, state: 'completed', attemptsStarted: 1 });
    // b wakes (PARKED_RECHECK_MS) and looks again.
    expect(await t.run(b)).toMatchObject({ outcome: 'completed' });
    expect(await laneKeys()).toEqual([]);
  });

  it('wakes an event the lane was handed to whose job was never woken (a crash after the release)', async () => {
    const a = await accept('wa', 1000);
    const b = await accept('wb', 2000);
    const c = await accept('wc', 3000);
    await takeLane(t.redis, t.keys, seatOf(a).lane, { ...seatOf(a), ref: ref(jobIdOf(a)), data: a });
    t.jobs.set(jobIdOf(a), { data: a, state: 'active', attemptsStarted: 1 });
    expect(await t.run(b)).toEqual({ outcome: 'parked' });
    // a's worker released the lane to b and died before waking b's job.
    expect(await releaseLane(t.redis, t.keys, seatOf(a).lane, seatOf(a).member)).toMatchObject({
      kind: 'handed',
    });
    expect(t.handed).toEqual([]);
    expect(await t.run(c)).toEqual({ outcome: 'parked' });
    expect(t.handed.map((h) => h.jobId)).toEqual([jobIdOf(b)]);
    await drainHanded();
    expect(services.ran).toEqual(['wb', 'wc']);
    expect(await laneKeys()).toEqual([]);
  });

  it('a holder whose hand-off an outage cut short wakes the next when its job runs again', async () => {
    const a = await accept('ha', 1000);
    const b = await accept('hb', 2000);
    // The lane is handed to b, then Redis fails under the wake of b's job.
    const wake = t.engine.jobs.wake;
    let outage = false;
    t.engine.jobs.wake = async (r, data) => {
      if (!outage) return wake(r, data);
      outage = false;
      throw new Error('CLUSTERDOWN The cluster is down');
    };
    const open = holdRuns();
    const running = t.run(a);
    await expect.poll(() => services.ran).toEqual(['ha']);
    expect(await t.run(b)).toEqual({ outcome: 'parked' });
    outage = true;
    open();
    expect(await running).toEqual({ outcome: 'deferred' });
    expect(t.handed).toEqual([]);
    // a's job, tried again once Redis is back: its run is over, and it wakes b on its way out.
    expect(await t.run(a)).toMatchObject({ outcome: 'noop' });
    expect(t.handed.map((h) => h.jobId)).toEqual([jobIdOf(b)]);
    await drainHanded();
    expect(services.ran).toEqual(['ha', 'hb']);
    expect(await laneKeys()).toEqual([]);
  });

  it('a job handed the lane while it was parking wakes itself', async () => {
    const a = await accept('sa', 1000);
    const b = await accept('sb', 2000);
    await takeLane(t.redis, t.keys, seatOf(a).lane, { ...seatOf(a), ref: ref(jobIdOf(a)), data: a });
    t.jobs.set(jobIdOf(a), { data: a, state: 'active', attemptsStarted: 1 });
    // a releases exactly while b parks: b's job is still active, so a cannot wake it.
    const jobState = t.engine.jobs.jobState;
    t.engine.jobs.jobState = async (r) => {
      const released = await releaseLane(t.redis, t.keys, seatOf(a).lane, seatOf(a).member);
      expect(released).toMatchObject({ kind: 'handed' });
      expect(await t.engine.jobs.wake(ref(jobIdOf(b)), b)).toBe('running');
      t.engine.jobs.jobState = jobState;
      return jobState(r);
    };
    expect(await t.run(b)).toEqual({ outcome: 'parked' });
    expect(t.handed.map((h) => h.jobId)).toEqual([jobIdOf(b)]);
    await drainHanded();
    expect(await laneKeys()).toEqual([]);
  });

  it('a deploy that makes the workflow unordered lets the parked events run, and leaves no lane', async () => {
    const a = await accept('ua', 1000);
    const b = await accept('ub', 2000);
    await takeLane(t.redis, t.keys, seatOf(a).lane, { ...seatOf(a), ref: ref(jobIdOf(a)), data: a });
    t.jobs.set(jobIdOf(a), { data: a, state: 'active', attemptsStarted: 1 });
    expect(await t.run(b)).toEqual({ outcome: 'parked' });
    // The new version of the workflow has no ordering: b's job wakes and runs without a lane…
    const plain = defineWorkflow<Services>('ordered', { source: 'demo', type: 'object.changed' }).step(
      'touch',
      touch,
    );
    t.engine.registry = createRegistry([plain, unordered, orderedTwin, audit]);
    expect(await t.run(b)).toMatchObject({ outcome: 'completed' });
    expect(await t.status('ub')).toMatchObject({ state: 'completed' });
    // …and leaves it; a's job, run again by the new version, completes (no lane); the sweep of a
    // later parked event (or none) is not needed: only a's hold is left, released when its job is
    // found completed.
    expect(await t.redis.zcard(t.keys.laneWaiting(seatOf(a).lane))).toBe(0);
    expect(await t.redis.hget(t.keys.lane(seatOf(a).lane), `d:${seatOf(b).member}`)).toBeNull();
  });
});

describe('lane scripts', () => {
  it('a released lane with nobody waiting is deleted', async () => {
    const a = await accept('da', 1000);
    expect(await takeLane(t.redis, t.keys, seatOf(a).lane, { ...seatOf(a), ref: ref('x'), data: a })).toEqual(
      {
        kind: 'hold',
      },
    );
    expect(await releaseLane(t.redis, t.keys, seatOf(a).lane, seatOf(a).member)).toEqual({ kind: 'free' });
    expect(await laneKeys()).toEqual([]);
  });

  it('every script touches only its lane: one Redis Cluster slot, never the event record', async () => {
    const slots: number[][] = [];
    const recording = new Proxy(t.redis, {
      get(target, name, receiver) {
        const value = Reflect.get(target, name, receiver);
        if (name !== 'evalsha' && name !== 'eval')
          return typeof value === 'function' ? value.bind(target) : value;
        return (script: string, count: number, ...rest: string[]) => {
          slots.push(rest.slice(0, count).map((k) => keySlot(k)));
          return value.call(target, script, count, ...rest);
        };
      },
    }) as RedisClient;
    const a = await accept('sa1', 1000);
    const b = await accept('sa2', 2000);
    await takeLane(recording, t.keys, seatOf(a).lane, { ...seatOf(a), ref: ref('a'), data: a });
    await takeLane(recording, t.keys, seatOf(b).lane, { ...seatOf(b), ref: ref('b'), data: b });
    await releaseLane(recording, t.keys, seatOf(a).lane, seatOf(a).member);
    expect(slots.length).toBe(3);
    for (const call of slots) expect(new Set(call).size).toBe(1);
    expect(slots[0]?.[0]).not.toBe(keySlot(t.keys.event(tagOf(a))));
  });
});

const ref = (id: string) => ({ id, queue: 'events' as const, partition: [0, 1] as [number, number] });
const seatOf = (e: EventJob) => seatFor(ordered, e, jobIdOf(e)) as NonNullable<ReturnType<typeof seatFor>>;

function tagOf(e: { source: string; eventId: string }) {
  return `${e.source}.${Buffer.from(e.eventId).toString('base64url')}`;
}
