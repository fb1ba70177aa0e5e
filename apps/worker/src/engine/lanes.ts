import {
  type EventJob,
  type Keys,
  type Logger,
  laneTag,
  luaScript,
  type OrderingKey,
  type RedisClient,
} from '@oncehook/shared';
import { isPermanent, LockLostError } from './errors.ts';
import type { WorkflowDefinition, WorkflowEvent } from './workflow.ts';

/**
 * Ordering lanes: the runs of an ordered workflow for one key, one at a time, in provider order.
 *
 * A lane is two keys under the lane's own hash tag (keys.ts): a hash naming the holder (the event
 * running now, and the one job allowed to run it) and a sorted set of the events waiting, scored
 * by provider time; members start with the zero-padded arrival time, so equal scores sort by
 * arrival. A job first asks TAKE for the lane. Free: it holds it and runs. Held: the event is
 * parked in the lane with its job's data, and the job completes `parked` — no worker slot is held
 * and nobody polls. When the holder's run ends (completed, or failed for good), RELEASE hands the
 * lane to the head of the queue in the same script, and the worker adds that event's job again
 * under an id made of its job id, the lane's hand-off count and the time (`<job id>+<n>.<µs>`):
 * adding it twice is one job.
 *
 * Crashes. A worker killed mid-run keeps holding the lane; stalled-job recovery runs the same job
 * id again, which TAKE recognises as the holder. A crash between RELEASE and the add leaves the
 * lane `pending` a job: every job that parks meanwhile adds it — the releaser's own job, run again
 * by stalled-job recovery, first of all (it parks, and later runs as a no-op: its event is done).
 * TAKE clears `pending` when the handed job starts. A job never skips the lane because its event
 * held it before: a replay of an event that failed for good waits its turn like any other.
 *
 * The lane never shares a script with the event's record (another slot on a Redis Cluster).
 */

// KEYS: lane hash, waiting set. ARGV: member, score, job id, job data (JSON).
// Returns {'hold'} | {'parked', [the pending holder's job id, its data]}.
const TAKE = luaScript(`
local lane, waiting, member, job = KEYS[1], KEYS[2], ARGV[1], ARGV[3]
local h = redis.call('HMGET', lane, 'holder', 'job', 'n', 'pending')
local holder, pending = h[1], h[4]
local function pendingJob(outcome)
  if not pending or not holder then return {outcome} end
  return {outcome, h[2], redis.call('HGET', lane, 'd:' .. holder)}
end
if holder == member then
  if h[2] == job then
    if pending then redis.call('HDEL', lane, 'pending', 'd:' .. member) end
    return {'hold'}
  end
  -- The lane was handed to this event's hand-off job: this one (its first job run again) yields.
  return pendingJob('parked')
end
if not holder then
  redis.call('HSET', lane, 'holder', member, 'job', job)
  redis.call('HDEL', lane, 'd:' .. member)
  redis.call('ZREM', waiting, member)
  return {'hold'}
end
redis.call('ZADD', waiting, ARGV[2], member)
redis.call('HSET', lane, 'd:' .. member, ARGV[4])
return pendingJob('parked')
`);

// KEYS: lane hash, waiting set. ARGV: member, job id.
// Returns {'free'} | {'handed', next job id, its data} | {'not-holder'}.
const RELEASE = luaScript(`
local lane, waiting, member = KEYS[1], KEYS[2], ARGV[1]
local h = redis.call('HMGET', lane, 'holder', 'job', 'n')
if h[1] ~= member or h[2] ~= ARGV[2] then return {'not-holder'} end
local head = redis.call('ZRANGE', waiting, 0, 0)[1]
if not head then
  redis.call('DEL', lane)
  return {'free'}
end
redis.call('ZREM', waiting, head)
local n = (tonumber(h[3]) or 0) + 1
-- The time too: a lane left empty is deleted, its count with it, and an earlier hand-off's job may
-- still be kept under the same count (adding it again would then be a no-op).
local now = redis.call('TIME')
local job = string.match(head, '^%S+ (.+)$') .. '+' .. n .. '.' .. now[1] .. string.format('%06d', now[2])
redis.call('HSET', lane, 'holder', head, 'job', job, 'n', n, 'pending', 1)
return {'handed', job, redis.call('HGET', lane, 'd:' .. head)}
`);

export interface LaneDeps {
  redis: RedisClient;
  keys: Keys;
  log: Logger;
  /** Adds the job of an event the lane was handed to (idempotent: its id is fixed). */
  handOff(data: unknown, jobId: string): Promise<void>;
  /** The event was parked: say so where /status reads (best effort). */
  parked?(seat: Seat): Promise<void>;
}

/** Where one job stands in one lane. */
export interface Seat {
  lane: string;
  /** `<arrival, zero-padded> <the job id the event's lane jobs derive from>` */
  member: string;
  /** Provider time (ms), or arrival. */
  score: number;
  /** The id of the job asking: only that job may run the event while it holds the lane. */
  jobId: string;
  /** The job's data, to add it again when the lane is handed to it. */
  data: unknown;
  /** What a person reads: `<workflow> <ordering key>`. */
  label: string;
}

export type LaneOutcome = { outcome: 'parked' };

/**
 * The seat of a job of `workflow` in its lane, or null when the workflow is not ordered or the
 * event has no ordering key (it then runs at once, with no lane and no extra round trip).
 */
export function seatFor(
  workflow: Pick<WorkflowDefinition<unknown>, 'name' | 'ordered'> | undefined,
  event: EventJob,
  job: { id: string | undefined; baseId: () => string; data: unknown },
): Seat | null {
  const ordered = workflow?.ordered;
  if (!ordered) return null;
  const order = ordered === true ? event.order : ownKey(ordered, event);
  if (!order) return null;
  const baseId = job.baseId();
  return {
    lane: laneTag(event.source, workflow.name, order.key),
    member: `${String(event.receivedAt).padStart(15, '0')} ${baseId}`,
    score: order.at ?? event.receivedAt,
    jobId: job.id ?? baseId,
    data: job.data,
    label: `${workflow.name} ${order.key}`,
  };
}

function ownKey(by: (event: WorkflowEvent) => OrderingKey | null, event: EventJob): OrderingKey | null {
  let body: unknown;
  try {
    body = JSON.parse(event.payload);
  } catch {
    return null;
  }
  const { source, eventId, type, payload, receivedAt } = event;
  return by({ source, eventId, type, payload, receivedAt, body });
}

/**
 * Runs `run` holding the seat's lane (or at once, without a seat). A run that ends for good
 * (returns, fails permanently, or on its last attempt) releases the lane and hands it on; one
 * that will be retried keeps it, so the next event still waits for it.
 */
export async function inLane<T>(
  deps: LaneDeps,
  seat: Seat | null,
  lastAttempt: boolean,
  run: () => Promise<T>,
): Promise<T | LaneOutcome> {
  if (!seat) return run();
  const taken = await take(deps, seat);
  if (taken === 'parked') {
    await deps
      .parked?.(seat)
      .catch((err: Error) => deps.log.warn({ err: err.message }, 'could not mark parked'));
    return { outcome: taken };
  }
  let result: T;
  try {
    result = await run();
  } catch (err) {
    // A worker that lost the job's lock has not finished: the worker that took the job over has.
    if (!(err instanceof LockLostError) && (lastAttempt || isPermanent(err))) await release(deps, seat);
    throw err;
  }
  await release(deps, seat);
  return result;
}

export async function take(deps: LaneDeps, seat: Seat): Promise<'hold' | 'parked'> {
  const [outcome, pendingJob, pendingData] = (await TAKE(
    deps.redis,
    [deps.keys.lane(seat.lane), deps.keys.laneWaiting(seat.lane)],
    [seat.member, seat.score, seat.jobId, JSON.stringify(seat.data)],
  )) as [string, string?, string?];
  if (pendingJob && pendingData) {
    deps.log.info({ lane: seat.lane, jobId: pendingJob }, 'lane handed on without its job: adding it');
    await deps.handOff(JSON.parse(pendingData), pendingJob);
  }
  if (outcome !== 'hold') deps.log.debug({ lane: seat.lane, member: seat.member }, `lane: ${outcome}`);
  return outcome as 'hold' | 'parked';
}

export async function release(deps: LaneDeps, seat: Seat): Promise<void> {
  const [outcome, jobId, data] = (await RELEASE(
    deps.redis,
    [deps.keys.lane(seat.lane), deps.keys.laneWaiting(seat.lane)],
    [seat.member, seat.jobId],
  )) as [string, string?, string?];
  if (outcome === 'handed' && jobId && data) await deps.handOff(JSON.parse(data), jobId);
  else if (outcome === 'not-holder')
    deps.log.warn({ lane: seat.lane, member: seat.member }, 'lane released by a job that does not hold it');
}
