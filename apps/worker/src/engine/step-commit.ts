import { type Keys, luaScript, type RedisClient } from '@oncehook/shared';
import { AGGREGATE, WRITES } from './event-lua.ts';

/**
 * Committing a step: its marker (its result), its own Redis writes, and — on the last step — the
 * run's completion, in one script, only if no run of the step committed before (two runs of one
 * job at once still write once). In the same round trip it reports whether the next step was
 * committed meanwhile by a run that took the job over, and when that step was first attempted.
 */

// KEYS: event hash, then the step's write keys (single Redis). ARGV: gen, workflow, step, result
// (JSON), now, keep until, next step ('' if none), finish ('1' on the last step), keep until once
// completed, writes (JSON [command, key index, args…]), the job's lock token ('' not to check;
// the lock key is then the last key).
const COMMIT = luaScript(`${AGGREGATE}${WRITES}
local ev = KEYS[1]
local run, step, now, nextStep = ARGV[2], ARGV[3], ARGV[5], ARGV[7]
local m = 'm:' .. run .. ':'
local rec = redis.call('HMGET', ev, 'receivedAt', m .. step, nextStep ~= '' and (m .. nextStep) or 'receivedAt', 's:' .. run)
if rec[1] ~= ARGV[1] then return {'superseded'} end
-- START wrote the run's state before any step ran: a record without it lost the start (a failover
-- promoted a replica that never saw it). Nothing is written; the attempt is retried from START.
if not rec[4] then return {'unstarted'} end
local stored = rec[2]
local fresh = 0
if not stored then
  if ARGV[10] ~= '[]' then
    local ops = cjson.decode(ARGV[10])
    local bad = invalid(ops)
    if bad then return {'invalid', bad} end
    apply(ops)
  end
  redis.call('HSET', ev, m .. step, ARGV[4])
  stored = ARGV[4]
  fresh = 1
end
keep(ev, ARGV[6])
local nextMarker, nextStarted, state = '', '', ''
if nextStep ~= '' then
  nextMarker = rec[3] or ''
  if nextMarker == '' then
    local f = 't:' .. run .. ':' .. nextStep
    redis.call('HSETNX', ev, f, now)
    nextStarted = redis.call('HGET', ev, f)
  end
end
-- Before the next effect: does this worker still hold the job's lock? (single Redis: same script)
local owned = 1
if ARGV[11] ~= '' and redis.call('GET', KEYS[#KEYS]) ~= ARGV[11] then owned = 0 end
if ARGV[8] == '1' then
  redis.call('HSET', ev, 's:' .. run, 'completed')
  -- First-attempt times matter only while a step may still run: not kept past completion.
  local fields = {'e:' .. run}
  for _, s in ipairs(split(redis.call('HGET', ev, 'p:' .. run))) do
    table.insert(fields, 't:' .. run .. ':' .. s)
  end
  redis.call('HDEL', ev, unpack(fields))
  state = aggregate(ev)
  if state == 'completed' then keep(ev, ARGV[9]) end
end
return {'ok', fresh, stored, nextMarker, nextStarted, state, owned}
`);

// On a Redis Cluster the writes live in another slot than the event: they commit with a commit
// record beside them (the step's result), and the marker follows in the event's own script.
const COMMIT_WRITES = luaScript(`${WRITES}
local committed = redis.call('GET', KEYS[1])
if committed then return {'ok', 0, committed} end
local ops = cjson.decode(ARGV[3])
local bad = invalid(ops)
if bad then return {'invalid', bad} end
apply(ops)
redis.call('SET', KEYS[1], ARGV[1], 'PXAT', ARGV[2])
return {'ok', 1, ARGV[1]}
`);

export interface WriteBatch {
  /** The keys written. */
  keys: string[];
  /** `[command, index into keys, ...args]`. */
  ops: (string | number)[][];
  /** The hash tag all keys share (cluster: the commit record goes there too). */
  hashTag: string;
}

export interface CommitArgs {
  gen: number;
  workflow: string;
  step: string;
  /** The step's result, as JSON. */
  resultJson: string;
  keepUntil: number;
  nextStep?: string;
  /** The last step: the run completes in the same script. */
  finish?: { keepUntil: number };
  writes?: WriteBatch;
  /** Cluster: how long a commit record lives (at least as long as the event can be retried). */
  commitRecordUntil: number;
  /** Check, in the same round trip, that this worker still holds the job's lock. */
  lock?: JobLock;
}

export type Committed =
  | { kind: 'superseded' }
  /** The record lost the run's start (a failover): nothing written. */
  | { kind: 'unstarted' }
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
      /** False if the job's lock is held by another worker now (only checked when `lock` is given). */
      owned: boolean;
    };

export interface JobLock {
  key: string;
  token: string;
}

// Both scripts take one key of their own before the write keys: KEYS[index + 2] in Lua.
const scriptOps = (w: WriteBatch) =>
  w.ops.map(([command, index, ...args]) => [command, Number(index) + 2, ...args]);

export async function commitStep(
  redis: RedisClient,
  keys: Keys,
  tag: string,
  c: CommitArgs,
): Promise<Committed> {
  let result = c.resultJson;
  let writes = c.writes;
  if (writes && writes.ops.length > 0 && redis.isCluster) {
    const commitKey = keys.stepCommit(writes.hashTag, tag, c.workflow, c.step);
    const [kind, , stored] = (await COMMIT_WRITES(
      redis,
      [commitKey, ...writes.keys],
      [result, c.commitRecordUntil, JSON.stringify(scriptOps(writes))],
    )) as [string, number, string];
    if (kind === 'invalid') return { kind, reason: String(stored ?? '') };
    result = stored;
    writes = undefined;
  }
  // On a single Redis the lock is checked inside the script; on a cluster it lives in another slot
  // and is read alongside, in the same round trip.
  const lockInScript = c.lock && !redis.isCluster ? c.lock : undefined;
  const lockAlongside = c.lock && redis.isCluster ? redis.get(c.lock.key) : undefined;
  const reply = (await COMMIT(
    redis,
    [keys.event(tag), ...(writes?.keys ?? []), ...(lockInScript ? [lockInScript.key] : [])],
    [
      c.gen,
      c.workflow,
      c.step,
      result,
      Date.now(),
      c.keepUntil,
      c.nextStep ?? '',
      c.finish ? '1' : '0',
      c.finish?.keepUntil ?? 0,
      JSON.stringify(writes ? scriptOps(writes) : []),
      lockInScript?.token ?? '',
    ],
  )) as [string, number, string, string, string, string, number];
  const [kind, fresh, stored, nextMarker, nextStarted, state, ownedInScript] = reply;
  const owned = lockAlongside ? (await lockAlongside) === c.lock?.token : ownedInScript !== 0;
  if (kind === 'superseded') return { kind };
  if (kind === 'unstarted') return { kind };
  if (kind === 'invalid') return { kind, reason: String(fresh) };
  return {
    kind: 'ok',
    fresh: fresh === 1,
    result: JSON.parse(stored),
    ...(nextMarker ? { nextMarker: JSON.parse(nextMarker) } : {}),
    nextStartedAt: nextStarted ? Number(nextStarted) : null,
    eventState: state || null,
    owned,
  };
}
