import type { Keys, Logger, RedisClient } from '@oncehook/shared';
import { deferredUntil, isPermanent, LockLostError } from './errors.ts';
import type { Parked } from './event-state.ts';
import type { Fence } from './fence.ts';
import { type JobRef, laneHolder, type Released, releaseLane, takeLane } from './lane-scripts.ts';
import { laneOfLabel, type Seat } from './lane-seat.ts';

/**
 * Ordering lanes: the runs of an ordered workflow for one key, one at a time, in provider order.
 *
 * A lane (lane-scripts.ts) names its holder, the event running now, and keeps the events waiting
 * in a sorted set by provider time (ties by arrival). A job first takes the lane. Free: it holds
 * it and runs. Held: the event is parked — its record kept without an expiry, its own job moved to
 * `delayed` (no worker slot held, no attempt used) — and when the holder's run ends (completed,
 * or failed for good) the lane goes to the head of the queue, whose job is woken: the same job,
 * so its attempts, /status and a replay of it all follow one job id.
 *
 * Crashes. A worker killed mid-run keeps holding the lane; stalled-job recovery runs the same job
 * again, which the lane recognises as its holder. A parked job also wakes by itself every
 * `recheckMs` and looks at its holder: a holder whose job is gone or finished without releasing
 * (removed by hand, a deploy made its workflow unordered, a release lost) is released for it, and
 * one handed the lane whose job was never woken (a crash right after the release) is woken.
 */

/** The job asking for a lane. */
export interface LaneJob {
  ref: JobRef;
  data: unknown;
  /** Its run may end for good now: a failure then releases the lane. */
  lastAttempt: boolean;
  /** Moves the job to `delayed` until then, without using an attempt (BullMQ's moveToDelayed). */
  defer(untilMs: number): Promise<void>;
}

export interface LaneDeps {
  redis: RedisClient;
  keys: Keys;
  log: Logger;
  fence: Fence;
  /** How long a parked job sleeps before it looks at its lane again. */
  recheckMs: number;
  /** Wakes a parked job, or adds it again under its id if it was removed. */
  wake(ref: JobRef, data: unknown): Promise<'woken' | 'added' | 'running' | 'finished'>;
  /** BullMQ's state of a job; null when it is gone. */
  jobState(ref: JobRef): Promise<string | null>;
  /** The Redis key of a job (what a wait for replicas covers on a cluster). */
  jobKey(ref: JobRef): string;
  /** Marks the event's record parked behind `label` (it then outlives the wait). */
  park(label: string): Promise<Parked>;
}

type HandOnDeps = Pick<LaneDeps, 'redis' | 'keys' | 'log' | 'fence' | 'wake' | 'jobKey'>;

export type LaneOutcome =
  | { outcome: 'parked' }
  | { outcome: 'left'; why: 'lost' | 'superseded' | 'finished' };

/**
 * Runs `run` holding the seat's lane (or at once, without a seat). A run that ends for good
 * (returns, fails permanently, or on its last attempt) releases the lane and wakes the next; one
 * that will be tried again keeps it, so the next event still waits for it.
 */
export async function inLane<T>(
  deps: LaneDeps,
  seat: Seat | null,
  job: LaneJob,
  run: () => Promise<T>,
): Promise<T | LaneOutcome> {
  if (!seat) return run();
  for (let round = 0; ; round++) {
    const taken = await takeLane(deps.redis, deps.keys, seat.lane, { ...seat, ref: job.ref, data: job.data });
    deps.fence.touch(deps.keys.lane(seat.lane));
    if (taken.kind === 'hold') break;
    const parked = await deps.park(seat.label);
    if (parked.kind !== 'parked') {
      // Nothing to wait for (its run completed, its record is another generation's or lost). It
      // may be a holder whose release an outage cut short after the lane was handed on, before
      // the next job was woken: it sees to the holder before it leaves.
      await unstick(deps, seat, taken.holder);
      await handOn(
        deps,
        seat.lane,
        await releaseLane(deps.redis, deps.keys, seat.lane, seat.member, 'leave'),
      );
      return { outcome: 'left', why: parked.kind };
    }
    if (parked.previously && parked.previously !== seat.label) await leaveOld(deps, seat, parked.previously);
    if (round < 3 && (await unstick(deps, seat, taken.holder))) continue;
    await deps.fence.wait('parking in its ordering lane');
    await job.defer(Date.now() + deps.recheckMs);
    // The lane may have come to this event while it parked (its holder found the job still
    // active and could not wake it): wake itself.
    if ((await laneHolder(deps.redis, deps.keys, seat.lane)) === seat.member)
      await deps.wake(job.ref, job.data);
    return { outcome: 'parked' };
  }
  let result: T;
  try {
    result = await run();
  } catch (err) {
    // Not finished: a worker that lost the job's lock (the one that took it over goes on), or a
    // run that waits (for Redis, or deferred by a step): it is tried again.
    const unfinished = err instanceof LockLostError || deferredUntil(err, 0) !== undefined;
    if (!unfinished && (job.lastAttempt || isPermanent(err))) await release(deps, seat);
    throw err;
  }
  await release(deps, seat);
  return result;
}

/** The seat's run ended for good: the lane goes to the next event, whose job is woken. */
export async function release(deps: LaneDeps, seat: Seat): Promise<void> {
  const released = await releaseLane(deps.redis, deps.keys, seat.lane, seat.member);
  if (released.kind === 'not-holder')
    deps.log.warn({ lane: seat.lane, member: seat.member }, 'lane released by a job that does not hold it');
  await handOn(deps, seat.lane, released);
}

/**
 * Wakes the job of the event a lane was handed to. One whose job finished meanwhile (it will not
 * run again to release the lane) is passed over: the lane goes on to the next.
 */
async function handOn(deps: HandOnDeps, lane: string, released: Released): Promise<void> {
  let next = released;
  while (next.kind === 'handed') {
    const { member, ref, data } = next.next;
    const woken = ref ? await deps.wake(ref, data) : 'finished';
    if (ref) deps.fence.touch(deps.keys.lane(lane), deps.jobKey(ref));
    if (woken !== 'finished') return;
    deps.log.warn({ lane, member }, 'lane handed to an event whose job has finished: passing it on');
    next = await releaseLane(deps.redis, deps.keys, lane, member);
  }
}

/**
 * A parked job looks at its lane's holder: one handed the lane but never woken is woken; one whose
 * job is gone or finished (it will never release) is released. True if the lane came to `seat`.
 */
async function unstick(
  deps: LaneDeps,
  seat: Seat,
  holder: { member: string; ref: JobRef | null; data: unknown; pending: boolean },
): Promise<boolean> {
  if (!holder.ref) return false;
  if (holder.pending) {
    if ((await deps.wake(holder.ref, holder.data)) !== 'finished') return false;
  } else {
    const state = await deps.jobState(holder.ref);
    if (state !== null && state !== 'completed' && state !== 'failed') return false;
  }
  deps.log.warn(
    { lane: seat.lane, holder: holder.member },
    "the lane's holder will not run again (its job is gone or finished): releasing the lane for it",
  );
  const released = await releaseLane(deps.redis, deps.keys, seat.lane, holder.member);
  if (released.kind === 'handed' && released.next.member === seat.member) return true;
  await handOn(deps, seat.lane, released);
  return false;
}

/** The event waited in another lane before (a deploy changed its workflow's key): it leaves it. */
export async function leaveOld(
  deps: HandOnDeps,
  seat: Pick<Seat, 'source' | 'lane' | 'member'>,
  label: string,
) {
  const old = laneOfLabel(seat.source, label);
  deps.log.info({ lane: seat.lane, old }, 'event moved to another ordering lane: leaving the old one');
  await handOn(deps, old, await releaseLane(deps.redis, deps.keys, old, seat.member, 'leave'));
}
