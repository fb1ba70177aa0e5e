import { EVENT_FIELDS, type Keys, luaScript, type RedisClient } from '@oncehook/shared';
import { AGGREGATE } from './event-lua.ts';

/**
 * The worker's side of the event hash (keys.ts draws it): starting a run, committing a step,
 * recording a failure. One script each, so that every change to an event — its runs, markers,
 * aggregate state and expiry — is atomic, and two runs of one job (a worker that lost its lock and
 * the one that took over) can never interleave half-way.
 *
 * Every script first checks the record's generation (`receivedAt`) against the job's: a job never
 * touches a record of another generation. Every expiry change is `PEXPIREAT … GT`: later, never
 * earlier, whoever writes it.
 */

// KEYS: event hash. ARGV: gen, first start?, now, keep until, workflow names ('a,b', for an events
// job), steps by workflow (JSON), the run (a workflow, or '' for an events job: decided here),
// attempt, the type (to recreate a record that expired while its job waited), pure steps by
// workflow (JSON).
const START = luaScript(`${AGGREGATE}
local ev = KEYS[1]
local gen, now, run = ARGV[1], ARGV[3], ARGV[7]
local rec = redis.call('HMGET', ev, 'receivedAt', 'state', 'w')
if not rec[1] then
  -- Gone while the job waited (workers down longer than the window): a job that never ran owns
  -- nothing that could be repeated, and may recreate it. One that ran before lost its markers.
  if ARGV[2] ~= '1' then return {'lost'} end
  redis.call('HSET', ev, 'type', ARGV[9], 'receivedAt', gen, 'deliveries', 1)
  redis.call('PEXPIREAT', ev, ARGV[4])
elseif rec[1] ~= gen then
  return {'superseded'}
end
keep(ev, ARGV[4])
-- Parked behind an earlier event of its ordering lane until now (markWaiting): no longer.
if rec[3] then redis.call('HDEL', ev, 'w') end
local stepsOf = cjson.decode(ARGV[6])
if run == '' then
  if rec[2] == 'completed' or rec[2] == 'ignored' then return {'finished', rec[2]} end
  redis.call('HSETNX', ev, 'workflows', ARGV[5])
  local names = split(redis.call('HGET', ev, 'workflows'))
  if #names == 0 then
    redis.call('HSET', ev, 'state', 'ignored')
    return {'ignored'}
  end
  if #names > 1 then
    for _, wf in ipairs(names) do
      redis.call('HSETNX', ev, 's:' .. wf, 'queued')
      if stepsOf[wf] then redis.call('HSETNX', ev, 'p:' .. wf, table.concat(stepsOf[wf], ',')) end
    end
    aggregate(ev)
    return {'fanout', redis.call('HGET', ev, 'workflows')}
  end
  run = names[1]
end
if redis.call('HGET', ev, 's:' .. run) == 'completed' then return {'finished', 'completed'} end
redis.call('HSET', ev, 's:' .. run, 'processing', 'a:' .. run, ARGV[8])
local steps = stepsOf[run]
if steps then redis.call('HSETNX', ev, 'p:' .. run, table.concat(steps, ','))
else steps = split(redis.call('HGET', ev, 'p:' .. run)) end
aggregate(ev)
-- The run's markers in one call, and when its first unmarked effectful step was first attempted.
local out = {'run', run, ''}
if #steps == 0 then return out end
local fields = {}
for i, step in ipairs(steps) do fields[i] = 'm:' .. run .. ':' .. step end
local markers = redis.call('HMGET', ev, unpack(fields))
local pure = {}
for _, step in ipairs(cjson.decode(ARGV[10])[run] or {}) do pure[step] = true end
local first = nil
for i, step in ipairs(steps) do
  if markers[i] then
    table.insert(out, step)
    table.insert(out, markers[i])
  elseif not first and not pure[step] then
    first = step
  end
end
if first then
  local f = 't:' .. run .. ':' .. first
  redis.call('HSETNX', ev, f, now)
  out[3] = redis.call('HGET', ev, f)
end
return out
`);

export interface StartArgs {
  gen: number;
  /** The job never ran before: it may recreate a record that expired while it waited. */
  firstStart: boolean;
  keepUntil: number;
  /** For an events job: the workflows this worker runs for the event (the record's list wins). */
  workflows: string[];
  stepsOf: Record<string, string[]>;
  /** Steps without markers (pure), by workflow: they are never "first attempted". */
  pureOf: Record<string, string[]>;
  /** A workflows job's workflow; undefined for an events job. */
  run?: string;
  attempt: number;
  /** The event's type, to recreate a record that expired while its job waited. */
  type: string;
}

export type Started =
  | { kind: 'lost' | 'superseded' | 'ignored' }
  | { kind: 'finished'; state: string }
  | { kind: 'fanout'; workflows: string[] }
  | { kind: 'run'; workflow: string; markers: Map<string, unknown>; nextStartedAt: number | null };

export async function startRun(redis: RedisClient, keys: Keys, tag: string, a: StartArgs): Promise<Started> {
  const reply = (await START(
    redis,
    [keys.event(tag)],
    [
      a.gen,
      a.firstStart ? '1' : '0',
      Date.now(),
      a.keepUntil,
      a.workflows.join(','),
      JSON.stringify(a.stepsOf),
      a.run ?? '',
      a.attempt,
      a.type,
      JSON.stringify(a.pureOf),
    ],
  )) as string[];
  const [kind, first = '', second = ''] = reply;
  if (kind === 'finished') return { kind, state: first };
  if (kind === 'fanout') return { kind, workflows: first.split(',') };
  if (kind !== 'run') return { kind: kind as 'lost' | 'superseded' | 'ignored' };
  const markers = new Map<string, unknown>();
  for (let i = 3; i + 1 < reply.length; i += 2)
    markers.set(reply[i] as string, JSON.parse(reply[i + 1] as string));
  return { kind, workflow: first, markers, nextStartedAt: second ? Number(second) : null };
}

// KEYS: event hash. ARGV: gen, field, value. Never creates a record (one that expired stays
// gone), never touches another generation's.
const SET_FIELD = luaScript(`
if redis.call('HGET', KEYS[1], 'receivedAt') ~= ARGV[1] then return 0 end
redis.call('HSET', KEYS[1], ARGV[2], ARGV[3])
return 1
`);

/**
 * Sets one field of the event's record, only on the record of the job's generation: for what is
 * written beside a run rather than by one (the failure alert's mark, the parked mark). True if set.
 */
export async function setRecordField(
  redis: RedisClient,
  keys: Keys,
  tag: string,
  f: { gen: number | string; field: string; value: string },
): Promise<boolean> {
  return (await SET_FIELD(redis, [keys.event(tag)], [f.gen, f.field, f.value])) === 1;
}

/**
 * An event parked in its ordering lane: its record says behind what, for /status (START clears
 * it). A separate write from the lane's script: the lane and the record live in different slots.
 */
export async function markWaiting(
  redis: RedisClient,
  keys: Keys,
  tag: string,
  w: { gen: number; behind: string },
): Promise<void> {
  await setRecordField(redis, keys, tag, { gen: w.gen, field: EVENT_FIELDS.waitingBehind, value: w.behind });
}

// Checks that a batch of writes can apply before applying any: a Lua script has no rollback, so a
// write failing half-way (a key of the wrong type) would leave the earlier ones applied, without a
// marker, and the retry would apply them again.
// KEYS: event hash. ARGV: gen, workflow, state (retrying | failed), attempt, error, keep until.
const FAIL = luaScript(`${AGGREGATE}
local ev = KEYS[1]
local rec = redis.call('HMGET', ev, 'receivedAt', 's:' .. ARGV[2])
if rec[1] ~= ARGV[1] then return 'superseded' end
-- No run state: the record lost this run's start (a failover). Writing one now would make an
-- event without its workflow list look finished; the job's retry starts the run again instead.
if not rec[2] then return 'unstarted' end
if rec[2] == 'completed' then return 'completed' end
redis.call('HSET', ev, 's:' .. ARGV[2], ARGV[3], 'a:' .. ARGV[2], ARGV[4], 'e:' .. ARGV[2], ARGV[5])
keep(ev, ARGV[6])
return aggregate(ev)
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
