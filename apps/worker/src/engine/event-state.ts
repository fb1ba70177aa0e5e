import { AGGREGATE_LUA, type Keys, luaScript, type RedisClient } from '@oncehook/shared';

/**
 * The worker's side of the event hash (keys.ts draws it), beside starting a run (event-start.ts)
 * and committing a step (step-commit.ts): recording a failure, parking the event in its ordering
 * lane, a field written beside a run. One script each, so that every change to an event — its
 * runs, markers, aggregate state and expiry — is atomic, and two runs of one job (a worker that
 * lost its lock and the one that took over) can never interleave half-way.
 *
 * Every script first checks the record's generation (`receivedAt`) against the job's: a job never
 * touches a record of another generation. A record has no expiry while a run of its event is in
 * flight (or it waits, parked in its ordering lane); its window runs from when the event finished.
 * Every other expiry change moves it later, never earlier.
 */

// KEYS[1] the event hash
// ARGV[1] the job's generation, ARGV[2] field, ARGV[3] value
// Returns 1 if set. Never creates a record (one that expired stays gone), never touches another
// generation's.
const SET_FIELD = luaScript(`
local ev = KEYS[1]
local gen, field, value = ARGV[1], ARGV[2], ARGV[3]
if redis.call('HGET', ev, 'receivedAt') ~= gen then return 0 end
redis.call('HSET', ev, field, value)
return 1
`);

/**
 * Sets one field of the event's record, only on the record of the job's generation: for what is
 * written beside a run rather than by one (the failure alert's mark). True if set.
 */
export async function setRecordField(
  redis: RedisClient,
  keys: Keys,
  tag: string,
  f: { gen: number | string; field: string; value: string },
): Promise<boolean> {
  return (await SET_FIELD(redis, [keys.event(tag)], [f.gen, f.field, f.value])) === 1;
}

// KEYS[1] the event hash
// ARGV[1] the job's generation
// ARGV[2] '1' if the job never failed an attempt (it may recreate a record gone meanwhile)
// ARGV[3] what it waits behind: '<workflow> <ordering key>'
// ARGV[4] the run (the workflow of the lane)
// ARGV[5] the event's type, ARGV[6] QUEUE_PARTITIONS of its queue (for a recreated record)
// Returns {'parked', what it waited behind before ('' if nothing)} | {'lost'} | {'superseded'}
//       | {'finished'} (its run completed: nothing to wait for).
const PARK = luaScript(`
local ev = KEYS[1]
local gen, firstStart, behind, run, eventType, partitions = ARGV[1], ARGV[2], ARGV[3], ARGV[4], ARGV[5], ARGV[6]
local rec = redis.call('HMGET', ev, 'receivedAt', 'w', 's:' .. run)
if not rec[1] then
  if firstStart ~= '1' then return {'lost'} end
  redis.call('HSET', ev, 'type', eventType, 'receivedAt', gen, 'deliveries', 1)
  if partitions ~= '1' then redis.call('HSET', ev, 'q', partitions) end
elseif rec[1] ~= gen then
  return {'superseded'}
elseif rec[3] == 'completed' then
  return {'finished'}
end
-- However long the lane takes, the event's markers must outlive the wait: no expiry until START.
redis.call('HSET', ev, 'w', behind)
redis.call('PERSIST', ev)
return {'parked', rec[2] or ''}
`);

export type Parked =
  | { kind: 'parked'; previously: string | null }
  | { kind: 'lost' | 'superseded' | 'finished' };

/**
 * An event parked in its ordering lane: its record says behind what (for /status), and lives
 * until the event runs. A separate write from the lane's script: the two live in different slots.
 */
export async function parkRecord(
  redis: RedisClient,
  keys: Keys,
  tag: string,
  p: { gen: number; firstStart: boolean; behind: string; run: string; type: string; partitions: number },
): Promise<Parked> {
  const [kind, previously] = (await PARK(
    redis,
    [keys.event(tag)],
    [p.gen, p.firstStart ? '1' : '0', p.behind, p.run, p.type, p.partitions],
  )) as [string, string?];
  if (kind === 'parked') return { kind, previously: previously || null };
  return { kind: kind as 'lost' | 'superseded' | 'finished' };
}

// KEYS[1] the event hash
// ARGV[1] the job's generation, ARGV[2] the workflow, ARGV[3] 'retrying' | 'failed',
// ARGV[4] the attempt, ARGV[5] the error, ARGV[6] keep the record until (ms)
// Returns the event's state after it, or 'superseded' | 'unstarted' | 'completed' (unchanged).
const FAIL = luaScript(`${AGGREGATE_LUA}
local ev = KEYS[1]
local gen, run, state, attempt, err, keepUntil = ARGV[1], ARGV[2], ARGV[3], ARGV[4], ARGV[5], ARGV[6]
local rec = redis.call('HMGET', ev, 'receivedAt', 's:' .. run)
if rec[1] ~= gen then return 'superseded' end
-- No run state: the record lost this run's start (a failover). Writing one now would make an
-- event without its workflow list look finished; the job's retry starts the run again instead.
if not rec[2] then return 'unstarted' end
if rec[2] == 'completed' then return 'completed' end
redis.call('HSET', ev, 's:' .. run, state, 'a:' .. run, attempt, 'e:' .. run, err)
local agg = aggregate(ev)
-- Failed for good, and no other run in flight: the dead letter's time runs from now. Retrying:
-- still in flight, without an expiry.
if agg == 'failed' then settle(ev, keepUntil) end
return agg
`);

export async function failRun(
  redis: RedisClient,
  keys: Keys,
  tag: string,
  f: {
    gen: number;
    workflow: string;
    state: 'retrying' | 'failed';
    attempt: number;
    error: string;
    keepUntil: number;
  },
): Promise<string> {
  return String(
    await FAIL(redis, [keys.event(tag)], [f.gen, f.workflow, f.state, f.attempt, f.error, f.keepUntil]),
  );
}
