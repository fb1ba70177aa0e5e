import type { EventState } from './event-status.ts';

/**
 * The one rule for an event's state over its runs (one per workflow), written twice because it is
 * needed on both sides of the wire: in TypeScript for /status (which also takes the jobs' word), in
 * Lua for every script that changes a run (the worker's start, commit and failure, the operator's
 * replay). `event-aggregate.redis.test.ts` checks that both agree on every combination of states.
 *
 * Every run completed -> completed; every run finished and one failed -> failed; else a run
 * retrying and none processing -> retrying; nothing started -> queued; else processing.
 */
export function aggregate(states: EventState[]): EventState {
  if (states.every((s) => s === 'completed')) return 'completed';
  if (states.every((s) => s === 'completed' || s === 'failed')) return 'failed';
  if (states.includes('retrying') && !states.includes('processing')) return 'retrying';
  if (states.every((s) => s === 'queued')) return 'queued';
  return 'processing';
}

/**
 * The same rule in Lua, with the helpers the event scripts share. Field names are the ones keys.ts
 * draws: `s:<wf>` a run's state, `e:<wf>` its error. `aggregate(ev)` writes `state` and `error` and
 * returns the state. Expiry: a record has none while a run of its event is in flight (`inFlight`);
 * `settle(ev, ms)` gives it one when the event finishes; `keep(ev, ms)` moves an expiry later,
 * never earlier, and leaves a record in flight without one.
 */
export const AGGREGATE_LUA = `
-- Workflow and step names never contain commas: lists are stored as 'a,b,c'.
local function split(list)
  local out = {}
  for name in string.gmatch(list or '', '[^,]+') do table.insert(out, name) end
  return out
end
local function aggregate(ev)
  local names = split(redis.call('HGET', ev, 'workflows'))
  if #names == 0 then
    -- No list (a record that lost it in a failover): the runs it knows. Never zero runs, which
    -- would read as "every run completed".
    for _, f in ipairs(redis.call('HKEYS', ev)) do
      if string.sub(f, 1, 2) == 's:' then table.insert(names, string.sub(f, 3)) end
    end
    if #names == 0 then return redis.call('HGET', ev, 'state') or 'queued' end
  end
  local n, completed, finished, processing, retrying, queued = #names, 0, 0, 0, 0, 0
  local err = ''
  for _, wf in ipairs(names) do
    local s = redis.call('HMGET', ev, 's:' .. wf, 'e:' .. wf)
    local state = s[1] or 'queued'
    if state == 'completed' then completed = completed + 1; finished = finished + 1
    elseif state == 'failed' then finished = finished + 1
    elseif state == 'processing' then processing = processing + 1
    elseif state == 'retrying' then retrying = retrying + 1
    else queued = queued + 1 end
    if err == '' and s[2] and (state == 'failed' or state == 'retrying') then
      err = n > 1 and (wf .. ': ' .. s[2]) or s[2]
    end
  end
  local agg = 'processing'
  if completed == n then agg = 'completed'
  elseif finished == n then agg = 'failed'
  elseif retrying > 0 and processing == 0 then agg = 'retrying'
  elseif queued == n then agg = 'queued' end
  redis.call('HSET', ev, 'state', agg)
  if err ~= '' then redis.call('HSET', ev, 'error', err) else redis.call('HDEL', ev, 'error') end
  return agg
end
local function keep(ev, untilMs)
  redis.call('PEXPIREAT', ev, untilMs, 'GT')
end
local function inFlight(ev)
  redis.call('PERSIST', ev)
end
local function settle(ev, untilMs)
  if redis.call('PTTL', ev) == -1 then redis.call('PEXPIREAT', ev, untilMs) else keep(ev, untilMs) end
end
`;
