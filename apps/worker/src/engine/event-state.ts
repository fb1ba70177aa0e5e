import { type Keys, luaScript, type RedisClient } from '@oncehook/shared';

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

// Recomputes the event's state from its runs' (the same rule as `aggregate` in shared).
const AGGREGATE = `
local function aggregate(ev, now)
  local names = cjson.decode(redis.call('HGET', ev, 'workflows') or '[]')
  local n, completed, finished, processing, retrying, queued, attempts = #names, 0, 0, 0, 0, 0, 0
  local err = ''
  for _, wf in ipairs(names) do
    local s = redis.call('HMGET', ev, 'state:' .. wf, 'attempts:' .. wf, 'error:' .. wf)
    local state = s[1] or 'queued'
    attempts = math.max(attempts, tonumber(s[2] or '0') or 0)
    if state == 'completed' then completed = completed + 1; finished = finished + 1
    elseif state == 'failed' then finished = finished + 1
    elseif state == 'processing' then processing = processing + 1
    elseif state == 'retrying' then retrying = retrying + 1
    else queued = queued + 1 end
    if err == '' and s[3] and (state == 'failed' or state == 'retrying') then err = wf .. ': ' .. s[3] end
  end
  local agg = 'processing'
  if completed == n then agg = 'completed'
  elseif finished == n then agg = 'failed'
  elseif retrying > 0 and processing == 0 then agg = 'retrying'
  elseif queued == n then agg = 'queued' end
  redis.call('HSET', ev, 'state', agg, 'attempts', attempts, 'updatedAt', now)
  if err ~= '' then redis.call('HSET', ev, 'error', err) else redis.call('HDEL', ev, 'error') end
  return agg
end
local function keep(ev, untilMs)
  if redis.call('PTTL', ev) < 0 then redis.call('PEXPIREAT', ev, untilMs)
  else redis.call('PEXPIREAT', ev, untilMs, 'GT') end
end
`;

// KEYS: event hash. ARGV: gen, first start?, now, keep until, workflow names
// (JSON, for an events job), steps by workflow (JSON), the run (workflow name, or '' for an
// events job: decided here), attempt, and what recreates a record that expired while its job
// waited: source, event id, type, window.
const START = luaScript(`${AGGREGATE}
local ev = KEYS[1]
local gen, now, run = ARGV[1], ARGV[3], ARGV[7]
local stored = redis.call('HGET', ev, 'receivedAt')
if not stored then
  -- Gone while the job waited (workers down longer than the window): a job that never ran owns
  -- nothing that could be repeated, and may recreate it. One that ran before lost its markers.
  if ARGV[2] ~= '1' then return {'lost'} end
  redis.call('HSET', ev, 'source', ARGV[9], 'eventId', ARGV[10], 'type', ARGV[11], 'receivedAt', gen,
    'window', ARGV[12], 'deliveries', 1)
elseif stored ~= gen then
  return {'superseded'}
end
keep(ev, ARGV[4])
local state = redis.call('HGET', ev, 'state')
if state == 'completed' or state == 'ignored' then return {'finished', state} end
local stepsOf = cjson.decode(ARGV[6])
if run == '' then
  redis.call('HSETNX', ev, 'workflows', ARGV[5])
  local names = cjson.decode(redis.call('HGET', ev, 'workflows'))
  if #names == 0 then
    redis.call('HSET', ev, 'state', 'ignored', 'updatedAt', now)
    return {'ignored'}
  end
  for _, wf in ipairs(names) do
    redis.call('HSETNX', ev, 'state:' .. wf, 'queued')
    if stepsOf[wf] then redis.call('HSETNX', ev, 'steps:' .. wf, cjson.encode(stepsOf[wf])) end
  end
  if #names > 1 then
    aggregate(ev, now)
    return {'fanout', redis.call('HGET', ev, 'workflows')}
  end
  run = names[1]
end
if redis.call('HGET', ev, 'state:' .. run) == 'completed' then return {'finished', 'completed'} end
redis.call('HSET', ev, 'state:' .. run, 'processing', 'attempts:' .. run, ARGV[8])
if stepsOf[run] then redis.call('HSETNX', ev, 'steps:' .. run, cjson.encode(stepsOf[run])) end
aggregate(ev, now)
-- Every marker of the run, and when its first unmarked step was first attempted.
local out = {'run', run, ''}
local prefix = 'done:' .. run .. ':'
for _, field in ipairs(redis.call('HKEYS', ev)) do
  if string.sub(field, 1, #prefix) == prefix then
    table.insert(out, string.sub(field, #prefix + 1))
    table.insert(out, redis.call('HGET', ev, field))
  end
end
for _, step in ipairs(stepsOf[run] or {}) do
  if redis.call('HEXISTS', ev, prefix .. step) == 0 then
    local f = 'started:' .. run .. ':' .. step
    redis.call('HSETNX', ev, f, now)
    out[3] = redis.call('HGET', ev, f)
    break
  end
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
  /** A workflows job's workflow; undefined for an events job. */
  run?: string;
  attempt: number;
  recreate: { source: string; eventId: string; type: string; windowSeconds: number };
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
      JSON.stringify(a.workflows),
      JSON.stringify(a.stepsOf),
      a.run ?? '',
      a.attempt,
      a.recreate.source,
      a.recreate.eventId,
      a.recreate.type,
      a.recreate.windowSeconds,
    ],
  )) as string[];
  const [kind, first = '', second = ''] = reply;
  if (kind === 'finished') return { kind, state: first };
  if (kind === 'fanout') return { kind, workflows: JSON.parse(first) as string[] };
  if (kind !== 'run') return { kind: kind as 'lost' | 'superseded' | 'ignored' };
  const markers = new Map<string, unknown>();
  for (let i = 3; i + 1 < reply.length; i += 2)
    markers.set(reply[i] as string, JSON.parse(reply[i + 1] as string));
  return { kind, workflow: first, markers, nextStartedAt: second ? Number(second) : null };
}

// Checks that a batch of writes can apply before applying any: a Lua script has no rollback, so a
// write failing half-way (a key of the wrong type) would leave the earlier ones applied, without a
// marker, and the retry would apply them again.
const VALIDATE_WRITES = `
local WANT = {RPUSH = 'list', LTRIM = 'list', HINCRBY = 'hash', HSET = 'hash', INCRBY = 'string', SADD = 'set'}
local function integer(v) return v == false or v == nil or string.match(v, '^%-?%d+$') ~= nil end
local function invalid(ops, first)
  local planned = {}
  for _, op in ipairs(ops) do
    local cmd, key = op[1], KEYS[op[2]]
    local have = planned[key] or redis.call('TYPE', key)['ok']
    if have ~= 'none' and have ~= WANT[cmd] then
      return cmd .. ' ' .. key .. ': the key holds a ' .. have
    end
    planned[key] = WANT[cmd]
    if cmd == 'HINCRBY' and not integer(redis.call('HGET', key, op[3])) then
      return 'HINCRBY ' .. key .. ' ' .. op[3] .. ': the field is not an integer'
    end
    if cmd == 'INCRBY' and have == 'string' and not integer(redis.call('GET', key)) then
      return 'INCRBY ' .. key .. ': the value is not an integer'
    end
  end
  return nil
end
local function apply(ops)
  for _, op in ipairs(ops) do redis.call(op[1], KEYS[op[2]], unpack(op, 3)) end
end
`;

// KEYS: event hash, then the step's write keys (single Redis). ARGV: gen, workflow, step, result
// (JSON), now, keep until, next step ('' if none), finish ('1' on the last step), keep until once
// completed, writes (JSON [command, key index, args…]).
const COMMIT = luaScript(`${AGGREGATE}${VALIDATE_WRITES}
local ev = KEYS[1]
local run, step, now, nextStep = ARGV[2], ARGV[3], ARGV[5], ARGV[7]
if redis.call('HGET', ev, 'receivedAt') ~= ARGV[1] then return {'superseded'} end
local marker = 'done:' .. run .. ':' .. step
local stored = redis.call('HGET', ev, marker)
local fresh = 0
if not stored then
  local ops = cjson.decode(ARGV[10])
  local bad = invalid(ops)
  if bad then return {'invalid', bad} end
  apply(ops)
  redis.call('HSET', ev, marker, ARGV[4])
  stored = ARGV[4]
  fresh = 1
end
keep(ev, ARGV[6])
local nextMarker, nextStarted, state = '', '', ''
if nextStep ~= '' then
  nextMarker = redis.call('HGET', ev, 'done:' .. run .. ':' .. nextStep) or ''
  if nextMarker == '' then
    local f = 'started:' .. run .. ':' .. nextStep
    redis.call('HSETNX', ev, f, now)
    nextStarted = redis.call('HGET', ev, f)
  end
end
if ARGV[8] == '1' then
  redis.call('HSET', ev, 'state:' .. run, 'completed')
  redis.call('HDEL', ev, 'error:' .. run)
  state = aggregate(ev, now)
  if state == 'completed' then keep(ev, ARGV[9]) end
end
return {'ok', fresh, stored, nextMarker, nextStarted, state}
`);

// On a Redis Cluster the writes live in another slot than the event: they commit with a commit
// record beside them (the step's result), and the marker follows in the event's own script.
const COMMIT_WRITES = luaScript(`${VALIDATE_WRITES}
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
}

export type Committed =
  | { kind: 'superseded' }
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
    };

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
  const reply = (await COMMIT(
    redis,
    [keys.event(tag), ...(writes?.keys ?? [])],
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
    ],
  )) as [string, number, string, string, string, string];
  const [kind, fresh, stored, nextMarker, nextStarted, state] = reply;
  if (kind === 'superseded') return { kind };
  if (kind === 'invalid') return { kind, reason: String(fresh) };
  return {
    kind: 'ok',
    fresh: fresh === 1,
    result: JSON.parse(stored),
    ...(nextMarker ? { nextMarker: JSON.parse(nextMarker) } : {}),
    nextStartedAt: nextStarted ? Number(nextStarted) : null,
    eventState: state || null,
  };
}

// KEYS: event hash. ARGV: gen, workflow, state (retrying | failed), attempt, error, now, keep until.
const FAIL = luaScript(`${AGGREGATE}
local ev = KEYS[1]
if redis.call('HGET', ev, 'receivedAt') ~= ARGV[1] then return 'superseded' end
if redis.call('HGET', ev, 'state:' .. ARGV[2]) == 'completed' then return 'completed' end
redis.call('HSET', ev, 'state:' .. ARGV[2], ARGV[3], 'attempts:' .. ARGV[2], ARGV[4], 'error:' .. ARGV[2], ARGV[5])
keep(ev, ARGV[7])
return aggregate(ev, ARGV[6])
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
    await FAIL(
      redis,
      [keys.event(tag)],
      [f.gen, f.workflow, f.state, f.attempt, f.error, Date.now(), f.keepUntil],
    ),
  );
}
