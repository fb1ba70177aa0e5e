import { AGGREGATE_LUA, type Keys, luaScript, type RedisClient } from '@oncehook/shared';

/**
 * Starting a run: the first script a job runs on its event's record (keys.ts draws the fields).
 * It decides what the job does — run a workflow, fan several out, nothing — and hands back the
 * run's markers, so that a retried or recovered job skips every step that has one.
 *
 * A job never touches a record of another generation (`receivedAt`). A record gone while the job
 * waited (workers down longer than the window) is recreated only by a job that never failed an
 * attempt (dispatch.ts `neverFailed`): one that did lost its markers with it, and must not repeat
 * its steps.
 *
 * Once a run starts, the record has no expiry until the event finishes (step-commit.ts and
 * event-state.ts give it its window then): however long its runs take — retries, waits for a
 * limit, for Redis, for a lane — their markers are there when they go on.
 */

// KEYS[1] the event hash
// ARGV[1]  the job's generation (receivedAt)
// ARGV[2]  '1' if the job never failed an attempt (it may recreate a record gone meanwhile)
// ARGV[3]  now (ms)
// ARGV[4]  keep the record until (ms), when nothing is left to run (a new record, until it runs)
// ARGV[5]  the workflows this worker runs for the event ('a,b'; an events job: the record's wins)
// ARGV[6]  steps by workflow (JSON)
// ARGV[7]  the run: a workflows job's workflow, or '' for an events job (decided here)
// ARGV[8]  the attempt
// ARGV[9]  the event's type (for a recreated record)
// ARGV[10] pure steps by workflow (JSON): never "first attempted"
// ARGV[11] QUEUE_PARTITIONS of the job's queue (a recreated record's `q`)
// ARGV[12] every workflow of the event ('a,b'; a workflows job, for a recreated record)
// Returns {'lost'} | {'superseded'} | {'ignored'} | {'finished', state} | {'fanout', 'a,b'}
//       | {'run', workflow, when its first unmarked step was first attempted, parked behind
//          (or ''), step, marker, step, marker, ...}
const START = luaScript(`${AGGREGATE_LUA}
local ev = KEYS[1]
local gen, firstStart, now, keepUntil = ARGV[1], ARGV[2], ARGV[3], ARGV[4]
local workflowList, stepsJson, run, attempt = ARGV[5], ARGV[6], ARGV[7], ARGV[8]
local eventType, pureJson, partitions, allWorkflows = ARGV[9], ARGV[10], ARGV[11], ARGV[12]
local rec = redis.call('HMGET', ev, 'receivedAt', 'state', 'w')
if not rec[1] then
  if firstStart ~= '1' then return {'lost'} end
  redis.call('HSET', ev, 'type', eventType, 'receivedAt', gen, 'deliveries', 1)
  if partitions ~= '1' then redis.call('HSET', ev, 'q', partitions) end
  if allWorkflows ~= '' then redis.call('HSET', ev, 'workflows', allWorkflows) end
  redis.call('PEXPIREAT', ev, keepUntil)
elseif rec[1] ~= gen then
  return {'superseded'}
end
local parkedBehind = rec[3] or ''
-- Parked in its ordering lane until now (the record kept without an expiry meanwhile).
if rec[3] then redis.call('HDEL', ev, 'w') end
-- Nothing left to run: the record keeps (or gets back) an expiry.
local function done() settle(ev, keepUntil) end
local stepsOf = cjson.decode(stepsJson)
if run == '' then
  if rec[2] == 'completed' or rec[2] == 'ignored' then
    -- Written again so that a wait for replicas before the job completes covers it.
    redis.call('HSET', ev, 'state', rec[2])
    done()
    return {'finished', rec[2]}
  end
  redis.call('HSETNX', ev, 'workflows', workflowList)
  local names = split(redis.call('HGET', ev, 'workflows'))
  if #names == 0 then
    redis.call('HSET', ev, 'state', 'ignored')
    done()
    return {'ignored'}
  end
  if #names > 1 then
    inFlight(ev)
    for _, wf in ipairs(names) do
      redis.call('HSETNX', ev, 's:' .. wf, 'queued')
      if stepsOf[wf] then redis.call('HSETNX', ev, 'p:' .. wf, table.concat(stepsOf[wf], ',')) end
    end
    aggregate(ev)
    return {'fanout', redis.call('HGET', ev, 'workflows')}
  end
  run = names[1]
end
if redis.call('HGET', ev, 's:' .. run) == 'completed' then
  redis.call('HSET', ev, 's:' .. run, 'completed')
  if redis.call('HGET', ev, 'state') == 'completed' then done() end
  return {'finished', 'completed'}
end
inFlight(ev)
redis.call('HSET', ev, 's:' .. run, 'processing', 'a:' .. run, attempt)
local steps = stepsOf[run]
if steps then redis.call('HSETNX', ev, 'p:' .. run, table.concat(steps, ','))
else steps = split(redis.call('HGET', ev, 'p:' .. run)) end
aggregate(ev)
-- The run's markers in one call, and when its first unmarked effectful step was first attempted.
local out = {'run', run, '', parkedBehind}
if #steps == 0 then return out end
local fields = {}
for i, step in ipairs(steps) do fields[i] = 'm:' .. run .. ':' .. step end
local markers = redis.call('HMGET', ev, unpack(fields))
local pure = {}
for _, step in ipairs(cjson.decode(pureJson)[run] or {}) do pure[step] = true end
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
  /** The job never failed an attempt: it may recreate a record that expired while it waited. */
  firstStart: boolean;
  keepUntil: number;
  /** For an events job: the workflows this worker runs for the event (the record's list wins). */
  workflows: string[];
  stepsOf: Record<string, string[]>;
  /** Steps without markers (pure), by workflow: they are never "first attempted". */
  pureOf: Record<string, string[]>;
  /** A workflows job's workflow; undefined for an events job. */
  run?: string;
  /** A workflows job: every workflow of its event (for a recreated record). */
  allWorkflows?: string[];
  attempt: number;
  /** The event's type, to recreate a record that expired while its job waited. */
  type: string;
  /** QUEUE_PARTITIONS of the job's queue: a recreated record keeps its layout. */
  partitions: number;
}

export type Started =
  | { kind: 'lost' | 'superseded' | 'ignored' }
  | { kind: 'finished'; state: string }
  | { kind: 'fanout'; workflows: string[] }
  | {
      kind: 'run';
      workflow: string;
      markers: Map<string, unknown>;
      nextStartedAt: number | null;
      /** It was parked in an ordering lane until now: '<workflow> <ordering key>'. */
      parkedBehind: string | null;
    };

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
      a.partitions,
      (a.allWorkflows ?? []).join(','),
    ],
  )) as string[];
  const [kind, first = '', second = '', parkedBehind = ''] = reply;
  if (kind === 'finished') return { kind, state: first };
  if (kind === 'fanout') return { kind, workflows: first.split(',') };
  if (kind !== 'run') return { kind: kind as 'lost' | 'superseded' | 'ignored' };
  const markers = new Map<string, unknown>();
  for (let i = 4; i + 1 < reply.length; i += 2)
    markers.set(reply[i] as string, JSON.parse(reply[i + 1] as string));
  return {
    kind,
    workflow: first,
    markers,
    nextStartedAt: second ? Number(second) : null,
    parkedBehind: parkedBehind || null,
  };
}
