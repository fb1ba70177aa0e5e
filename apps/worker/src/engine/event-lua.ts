/**
 * Lua shared by the worker's event scripts (event-state.ts, step-commit.ts). Field names are the
 * ones keys.ts draws: `s:<wf>` a run's state, `a:<wf>` its attempts, `e:<wf>` its error, `p:<wf>`
 * its steps ('a,b,c'), `m:<wf>:<step>` a marker, `t:<wf>:<step>` when a step was first attempted.
 * The rule for the event's state over its runs, and the expiry helpers, are shared's AGGREGATE_LUA.
 */

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

/** A batch's ops for a script that takes one key of its own before the write keys (KEYS[index + 2]). */
export const scriptOps = (w: { ops: (string | number)[][] }) =>
  w.ops.map(([command, index, ...args]) => [command, Number(index) + 2, ...args]);
