import type { EventState, Keys, RedisClient } from '@oncehook/shared';
import { luaScript } from './lua.ts';

/**
 * Each workflow run keeps its own state in `keys.workflowRun(tag, workflow)`; the event record's
 * `state`, `attempts` and `error` are the aggregate of all runs of the event. Both change in one
 * script (every key is in the event's `{tag}` slot), so two workflows finishing at once can never
 * leave a stale aggregate behind.
 *
 * Aggregate: every run completed -> completed; every run finished, one failed -> failed; else a
 * run retrying (none processing) -> retrying; nothing started -> queued; else processing.
 * A completed run never goes back: a late duplicate run (a worker that lost its lock) is ignored.
 */
const SET_RUN_STATE = luaScript(`
local run = KEYS[2]
local current = redis.call('HGET', run, 'state')
if current ~= 'completed' then
  redis.call('HSET', run, 'state', ARGV[1], 'attempts', ARGV[2], 'steps', ARGV[5], 'updatedAt', ARGV[4])
  if ARGV[3] ~= '' then redis.call('HSET', run, 'error', ARGV[3]) else redis.call('HDEL', run, 'error') end
  redis.call('PEXPIREAT', run, ARGV[6])
end

local n, completed, finished, processing, retrying, queued, attempts = #KEYS - 2, 0, 0, 0, 0, 0, 0
local err = ''
for i = 3, #KEYS do
  local s = redis.call('HMGET', KEYS[i], 'state', 'attempts', 'error')
  local state = s[1] or 'queued'
  attempts = math.max(attempts, tonumber(s[2] or '0') or 0)
  if state == 'completed' then completed = completed + 1; finished = finished + 1
  elseif state == 'failed' then finished = finished + 1
  elseif state == 'processing' then processing = processing + 1
  elseif state == 'retrying' then retrying = retrying + 1
  else queued = queued + 1 end
  if err == '' and s[3] and (state == 'failed' or state == 'retrying') then
    err = ARGV[6 + i - 2] .. ': ' .. s[3]
  end
end

local agg = 'processing'
if completed == n then agg = 'completed'
elseif finished == n then agg = 'failed'
elseif retrying > 0 and processing == 0 then agg = 'retrying'
elseif queued == n then agg = 'queued' end

redis.call('HSET', KEYS[1], 'state', agg, 'attempts', attempts, 'updatedAt', ARGV[4])
if err ~= '' then redis.call('HSET', KEYS[1], 'error', err) else redis.call('HDEL', KEYS[1], 'error') end
redis.call('PEXPIREAT', KEYS[1], ARGV[6])
return agg
`);

export interface RunStateUpdate {
  state: Extract<EventState, 'processing' | 'retrying' | 'completed' | 'failed'>;
  attempts: number;
  steps: string[];
  error?: string;
}

/** Sets one run's state and recomputes the event's; returns the event's new state. */
export async function setRunState(
  redis: RedisClient,
  keys: Keys,
  at: { tag: string; workflow: string; workflows: string[]; expiresAt: number },
  update: RunStateUpdate,
): Promise<EventState> {
  const runKeys = at.workflows.map((wf) => keys.workflowRun(at.tag, wf));
  return (await SET_RUN_STATE(
    redis,
    [keys.event(at.tag), keys.workflowRun(at.tag, at.workflow), ...runKeys],
    [
      update.state,
      update.attempts,
      update.error ?? '',
      Date.now(),
      JSON.stringify(update.steps),
      at.expiresAt,
      ...at.workflows,
    ],
  )) as EventState;
}
