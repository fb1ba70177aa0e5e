import {
  claimReplay,
  type EventJob,
  eventJobId,
  hashTagOf,
  keySlot,
  type RedisClient,
} from '@oncehook/shared';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createTestEngine, type TestEngine } from '../testing/engine.ts';
import { defineWorkflow } from './define-workflow.ts';
import { type LaneDeps, release, type Seat, seatFor, take } from './lanes.ts';
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

const ordered = defineWorkflow<Services>('ordered', { source: 'demo', type: 'object.changed' })
  .orderedBy()
  .step('touch', async (event, ctx) => {
    const fault = ctx.services.fail.get(event.eventId);
    if (fault) {
      ctx.services.fail.delete(event.eventId);
      throw fault;
    }
    ctx.services.ran.push(event.eventId);
    if (ctx.services.gate) await ctx.services.gate;
    return { ok: true };
  });
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
const laneKeys = async () => t.redis.keys(`${t.config.QUEUE_PREFIX}:lane:*`);

/** Runs what the lanes handed on, as a worker would take the added jobs, until none is left. */
async function drainHanded() {
  while (t.handed.length > 0) {
    const { data, jobId } = t.handed.shift()!;
    expect(await t.run(data, { id: jobId })).toMatchObject({ outcome: 'completed' });
  }
}

describe('ordering lanes', () => {
  it('parks the events of a key while one runs, then runs them by provider time, ties by arrival', async () => {
    const first = await accept('e1', 1000);
    const later = await accept('e3', 3000);
    const tieA = await accept('e2a', 2000);
    const tieB = await accept('e2b', 2000);
    let open = () => {};
    services.gate = new Promise<void>((r) => {
      open = r;
    });
    const running = t.run(first);
    await expect.poll(() => services.ran).toEqual(['e1']);
    // No slot held, no polling: each job completes as parked.
    for (const job of [later, tieB, tieA]) expect(await t.run(job)).toEqual({ outcome: 'parked' });
    expect(t.handed).toEqual([]);
    // /status says what a parked event waits for.
    expect(await t.status('e3')).toMatchObject({ state: 'queued', waitingBehind: 'ordered obj_1' });
    services.gate = null;
    open();
    expect(await running).toMatchObject({ outcome: 'completed' });

    // Handed to the earliest waiting event, as a new job whose id says which hand-off it is.
    const tieAJob = eventJobId(tagOf(tieA), tieA.receivedAt).replace(/[.+]/g, '\\$&');
    expect(t.handed.map((h) => h.jobId)).toEqual([
      expect.stringMatching(new RegExp(`^${tieAJob}\\+1\\.\\d+$`)),
    ]);
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
    let open = () => {};
    services.gate = new Promise<void>((r) => {
      open = r;
    });
    const running = t.run(b);
    await expect.poll(() => services.ran).toEqual(['rb']);
    await replayA();
    expect(await t.run(a)).toEqual({ outcome: 'parked' });
    services.gate = null;
    open();
    expect(await running).toMatchObject({ outcome: 'completed' });
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
    const holder = seatFor(orderedTwin, twinA, { id: 'held', baseId: () => 'held', data: twinA }) as Seat;
    const laneDeps = { redis: t.redis, keys: t.keys, log: t.engine.log, handOff: async () => {} };
    expect(await take(laneDeps, holder)).toBe('hold');
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

describe('lane scripts, crashes and hand-offs', () => {
  const handedOff: { data: unknown; jobId: string }[] = [];
  let crashOnAdd = false;
  const deps = (): LaneDeps => ({
    redis: t.redis,
    keys: t.keys,
    log: t.engine.log,
    async handOff(data, jobId) {
      if (crashOnAdd) throw new Error('worker died before adding the job');
      handedOff.push({ data, jobId });
    },
  });
  const seat = (id: string, at: number, jobId = `${id}-job`): Seat => {
    const event: EventJob = {
      source: 'demo',
      eventId: id,
      type: 'object.changed',
      payload: '{}',
      receivedAt: at,
      windowSeconds: 60,
      order: { key: 'obj_9', at },
    };
    return seatFor(ordered, event, { id: jobId, baseId: () => `${id}-job`, data: { id } }) as Seat;
  };
  beforeEach(() => {
    handedOff.length = 0;
    crashOnAdd = false;
  });

  it('a stalled job run again resumes holding its lane; another job of the same event does not', async () => {
    const a = seat('a', 1000);
    expect(await take(deps(), a)).toBe('hold');
    expect(await take(deps(), seat('b', 2000))).toBe('parked');
    // Stalled-job recovery runs the same job id again: still the holder.
    expect(await take(deps(), a)).toBe('hold');
    expect(await take(deps(), { ...a, jobId: 'some-other-job' })).toBe('parked');
    await release(deps(), a);
    const handedB = handedOff[0]?.jobId as string;
    expect(handedB).toMatch(/^b-job\+1\.\d+$/);
    // The parked first job of b, run again (its worker died after parking), yields to the handed one.
    expect(await take(deps(), seat('b', 2000))).toBe('parked');
    expect(await take(deps(), seat('b', 2000, handedB))).toBe('hold');
  });

  it('a crash between release and adding the next job strands nothing', async () => {
    const a = seat('a', 1000);
    expect(await take(deps(), a)).toBe('hold');
    expect(await take(deps(), seat('b', 2000))).toBe('parked');
    crashOnAdd = true;
    await expect(release(deps(), a)).rejects.toThrow('worker died');
    crashOnAdd = false;
    // The releaser's job, run again by stalled-job recovery, parks and adds b's job.
    expect(await take(deps(), a)).toBe('parked');
    const handedB = handedOff[0]?.jobId as string;
    expect(handedOff).toEqual([{ data: { id: 'b' }, jobId: expect.stringMatching(/^b-job\+1\./) }]);
    // So does any event that parks before b's job starts (the same id: one job).
    expect(await take(deps(), seat('c', 3000))).toBe('parked');
    expect(handedOff.map((h) => h.jobId)).toEqual([handedB, handedB]);
    // Once b's job took the lane, nothing is pending any more.
    expect(await take(deps(), seat('b', 2000, handedB))).toBe('hold');
    expect(await take(deps(), seat('d', 4000))).toBe('parked');
    expect(handedOff).toHaveLength(2);
  });

  it('a released lane with nobody waiting is deleted', async () => {
    const a = seat('a', 1000);
    expect(await take(deps(), a)).toBe('hold');
    await release(deps(), a);
    expect(await laneKeys()).toEqual([]);
    expect(handedOff).toEqual([]);
  });

  it('every script touches only its lane: one Redis Cluster slot, never the event record', async () => {
    const slots: number[][] = [];
    const recording = new Proxy(t.redis, {
      get(target, name, receiver) {
        const value = Reflect.get(target, name, receiver);
        if (name !== 'evalsha' && name !== 'eval')
          return typeof value === 'function' ? value.bind(target) : value;
        return (script: string, count: number, ...rest: string[]) => {
          slots.push(rest.slice(0, count).map((k) => keySlot(hashTagOf(k))));
          return value.call(target, script, count, ...rest);
        };
      },
    }) as RedisClient;
    const d = { ...deps(), redis: recording };
    const a = seat('a', 1000);
    await take(d, a);
    await take(d, seat('b', 2000));
    await release(d, a);
    expect(slots.length).toBe(3);
    for (const call of slots) expect(new Set(call).size).toBe(1);
    expect(slots[0]?.[0]).not.toBe(keySlot(hashTagOf(t.keys.event(tagOf({ source: 'demo', eventId: 'a' })))));
  });
});

function tagOf(e: { source: string; eventId: string }) {
  return `${e.source}.${Buffer.from(e.eventId).toString('base64url')}`;
}
