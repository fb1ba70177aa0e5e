import { AGGREGATE_LUA, type Keys, luaScript, type RedisClient } from '@oncehook/shared';
import { commitWritesOnCluster } from './cluster-writes.ts';
import { scriptOps, WRITES } from './event-lua.ts';

/**
 * Committing a step: its marker (its result), its own Redis writes, and — on the last step — the
 * run's completion, in one script, only if no run of the step committed before (two runs of one
 * job at once still write once) and only by the worker that holds the job's lock (a worker paused
 * past its lock, a zombie, writes nothing: the one that took the job over does the step). In the
 * same round trip it reports whether the next step was committed meanwhile by a run that took the
 * job over, and when that step was first attempted.
 */

// KEYS[1]      the event hash
// KEYS[2..n]   the step's write keys (single Redis), then the job's lock key if ARGV[11] is set
// ARGV[1]  the job's generation
// ARGV[2]  the workflow, ARGV[3] the step
// ARGV[4]  the step's result (JSON)
// ARGV[5]  now (ms), ARGV[6] keep the record until, if the event finished failed (ms)
// ARGV[7]  the next step ('' if none)
// ARGV[8]  '1' on the last step: the run completes
// ARGV[9]  keep the record until, once completed (ms)
// ARGV[10] the writes (JSON [command, KEYS index, args…])
// ARGV[11] the job's lock token ('' not to check; the lock key is then not passed)
// Returns {'superseded'} | {'unstarted'} | {'lock-lost'} | {'invalid', why}
//       | {'ok', fresh (1 | 0), stored result, next step's marker, next step's first attempt, state}
const COMMIT = luaScript(`${AGGREGATE_LUA}${WRITES}
local ev = KEYS[1]
local gen, run, step, result, now, keepFailed = ARGV[1], ARGV[2], ARGV[3], ARGV[4], ARGV[5], ARGV[6]
local nextStep, finish, keepCompleted, writes, lockToken = ARGV[7], ARGV[8], ARGV[9], ARGV[10], ARGV[11]
local m = 'm:' .. run .. ':'
local rec = redis.call('HMGET', ev, 'receivedAt', m .. step, nextStep ~= '' and (m .. nextStep) or 'receivedAt', 's:' .. run)
if rec[1] ~= gen then return {'superseded'} end
-- START wrote the run's state before any step ran: a record without it lost the start (a failover
-- promoted a replica that never saw it). Nothing is written; the attempt is retried from START.
if not rec[4] then return {'unstarted'} end
if lockToken ~= '' and redis.call('GET', KEYS[#KEYS]) ~= lockToken then return {'lock-lost'} end
local stored = rec[2]
local fresh = 0
if not stored then
  if writes ~= '[]' then
    local ops = cjson.decode(writes)
    local bad = invalid(ops)
    if bad then return {'invalid', bad} end
    apply(ops)
  end
  redis.call('HSET', ev, m .. step, result)
  stored = result
  fresh = 1
end
local nextMarker, nextStarted, state = '', '', ''
if nextStep ~= '' then
  nextMarker = rec[3] or ''
  if nextMarker == '' then
    local f = 't:' .. run .. ':' .. nextStep
    redis.call('HSETNX', ev, f, now)
    nextStarted = redis.call('HGET', ev, f)
  end
end
if finish == '1' then
  redis.call('HSET', ev, 's:' .. run, 'completed')
  -- First-attempt times matter only while a step may still run: not kept past completion.
  local fields = {'e:' .. run}
  for _, s in ipairs(split(redis.call('HGET', ev, 'p:' .. run))) do
    table.insert(fields, 't:' .. run .. ':' .. s)
  end
  redis.call('HDEL', ev, unpack(fields))
  state = aggregate(ev)
  -- The event finished (this was its last run in flight): its window runs from now.
  if state == 'completed' then settle(ev, keepCompleted) elseif state == 'failed' then settle(ev, keepFailed) end
end
return {'ok', fresh, stored, nextMarker, nextStarted, state}
`);

export interface WriteBatch {
  /** The keys written. */
  keys: string[];
  /** `[command, index into keys, ...args]`. */
  ops: (string | number)[][];
  /** The Redis Cluster slot all keys share (cluster: the commit record goes there too). */
  slot: number;
}

export interface CommitArgs {
  gen: number;
  workflow: string;
  step: string;
  /** The step's result, as JSON. */
  resultJson: string;
  nextStep?: string;
  /**
   * The last step: the run completes in the same script. If that finishes the event, its record
   * is kept this long: `completed` (every run completed), `failed` (another run failed for good).
   */
  finish?: { completed: number; failed: number };
  writes?: WriteBatch;
  /** Cluster: how long a commit record lives (at least as long as the event can be retried). */
  commitRecordUntil: number;
  /** Commit only while this worker holds the job's lock. */
  lock?: JobLock;
}

export type Committed =
  | { kind: 'superseded' }
  /** The record lost the run's start (a failover): nothing written. */
  | { kind: 'unstarted' }
  /** Another worker holds the job's lock now: nothing written. */
  | { kind: 'lock-lost' }
  | { kind: 'invalid'; reason: string }
  | {
      kind: 'ok';
      /** False if another run of the step had already committed (its writes were not repeated). */
      fresh: boolean;
      result: unknown;
      /** The next step's marker, if a run committed it meanwhile (it is then skipped). */
      nextMarker?: unknown;
      nextStartedAt: number | null;
      eventState: string | null;
      /** The keys written (a wait for replicas covers their shards). */
      wrote: string[];
    };

export interface JobLock {
  key: string;
  token: string;
}

export async function commitStep(
  redis: RedisClient,
  keys: Keys,
  tag: string,
  c: CommitArgs,
): Promise<Committed> {
  let result = c.resultJson;
  let writes = c.writes;
  const wrote = [keys.event(tag)];
  if (writes && writes.ops.length > 0 && redis.isCluster) {
    const done = await commitWritesOnCluster(redis, keys, tag, c, writes);
    if (done.kind !== 'ok') return done;
    wrote.push(...done.wrote);
    result = done.result;
    writes = undefined;
  }
  // On a single Redis the lock is checked inside the script; on a cluster it lives in another slot
  // and was read before the writes (above), or is read alongside a commit without writes.
  const lockInScript = c.lock && !redis.isCluster ? c.lock : undefined;
  // Read alongside, and awaited even when the commit throws first (else its rejection is unhandled).
  const lockAlongside =
    c.lock && redis.isCluster ? redis.get(c.lock.key).catch((err: Error) => err) : undefined;
  const reply = (await COMMIT(
    redis,
    [keys.event(tag), ...(writes?.keys ?? []), ...(lockInScript ? [lockInScript.key] : [])],
    [
      c.gen,
      c.workflow,
      c.step,
      result,
      Date.now(),
      c.finish?.failed ?? 0,
      c.nextStep ?? '',
      c.finish ? '1' : '0',
      c.finish?.completed ?? 0,
      JSON.stringify(writes ? scriptOps(writes) : []),
      lockInScript?.token ?? '',
    ],
  )) as [string, number, string, string, string, string];
  const [kind, fresh, stored, nextMarker, nextStarted, state] = reply;
  if (kind === 'superseded' || kind === 'unstarted' || kind === 'lock-lost') return { kind };
  if (kind === 'invalid') return { kind, reason: String(fresh) };
  if (lockAlongside) {
    const lock = await lockAlongside;
    if (lock instanceof Error) throw lock;
    if (lock !== c.lock?.token) return { kind: 'lock-lost' };
  }
  return {
    kind: 'ok',
    fresh: fresh === 1,
    result: JSON.parse(stored),
    ...(nextMarker ? { nextMarker: JSON.parse(nextMarker) } : {}),
    nextStartedAt: nextStarted ? Number(nextStarted) : null,
    eventState: state || null,
    wrote: [...wrote, ...(writes?.keys ?? [])],
  };
}
