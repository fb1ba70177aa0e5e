/**
 * Lua shared by the worker's event scripts (event-state.ts, step-commit.ts). Field names are the
 * ones keys.ts draws: `s:<wf>` a run's state, `a:<wf>` its attempts, `e:<wf>` its error, `p:<wf>`
 * its steps ('a,b,c'), `m:<wf>:<step>` a marker, `t:<wf>:<step>` when a step was first attempted.
 */

// Recomputes the event's state from its runs' (the same rule as `aggregate` in shared). One run:
// the event's state is the run's.
export const AGGREGATE = `
-- Workflow and step names never contain commas: lists are stored as 'a,b,c'.
local function split(list)
  local out = {}
  for name in string.gmatch(list or '', '[^,]+') do table.insert(out, name) end
  return out
end
local function aggregate(ev)
  local names = split(redis.call('HGET', ev, 'workflows'))
  if #names == 0 then
    -- No list (a record recreated for a workflows job, or one that lost it in a failover): the
    -- runs it knows. Never zero runs, which would read as "every run completed".
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
-- Every record has an expiry (the ingest sets it; START sets a recreated one's): only later.
local function keep(ev, untilMs)
  redis.call('PEXPIREAT', ev, untilMs, 'GT')
end
`;

// Checks that a batch of writes can apply before applying any: a Lua script has no rollback, so a
// write failing half-way (a key of the wrong type) would leave the earlier ones applied, without a
// marker, and the retry would apply them again. Ops are {command, KEYS index, args...}.
export const WRITES = `
local WANT = {RPUSH = 'list', LTRIM = 'list', HINCRBY = 'hash', HSET = 'hash', INCRBY = 'string', SADD = 'set'}
local function integer(v) return v == false or v == nil or string.match(v, '^%-?%d+$') ~= nil end
local function invalid(ops)
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
