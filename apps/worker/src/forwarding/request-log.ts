import { type DestinationRequest, type Keys, luaScript, type RedisClient } from '@oncehook/shared';

/**
 * Every request to a destination that did not deliver is recorded on the event's hash (keys.ts:
 * `h:<wf>`, the last 20, for /status and the dead-letter list; the one that delivered is the step's
 * result), with the run's retry window (`r:<wf>`): when its first request failed and how many have
 * since. An operator's replay (the record's `reruns` moves on) starts a new window, so a replayed
 * dead letter is retried as long again.
 */

const KEPT = 20;

// KEYS[1] the event hash
// ARGV[1] the job's generation, ARGV[2] the destination (its workflow's name)
// ARGV[3] the request (JSON, one line), ARGV[4] now (ms), ARGV[5] requests kept
// Returns {when the window started (ms), failed requests in it, this one included}, or {} when the
// record is another generation's (nothing written).
const LOG = luaScript(`
local ev = KEYS[1]
local gen, run, request, now, kept = ARGV[1], ARGV[2], ARGV[3], ARGV[4], tonumber(ARGV[5])
local rec = redis.call('HMGET', ev, 'receivedAt', 'h:' .. run, 'r:' .. run, 'reruns')
if rec[1] ~= gen then return {} end
local lines = {}
for line in string.gmatch(rec[2] or '', '[^\\n]+') do table.insert(lines, line) end
table.insert(lines, request)
while #lines > kept do table.remove(lines, 1) end
local reruns = rec[4] or '0'
local window = {}
for part in string.gmatch(rec[3] or '', '%S+') do table.insert(window, part) end
local start, failures = now, 0
if window[1] == reruns then start, failures = tonumber(window[2]), tonumber(window[3]) end
failures = failures + 1
local log = table.concat(lines, '\\n')
redis.call('HSET', ev, 'h:' .. run, log, 'r:' .. run, reruns .. ' ' .. start .. ' ' .. failures)
return {start, failures}
`);

export async function logRequest(
  redis: RedisClient,
  keys: Keys,
  tag: string,
  r: { gen: number; destination: string; request: DestinationRequest },
): Promise<{ start: number; failures: number }> {
  const [start = Date.now(), failures = 0] = (await LOG(
    redis,
    [keys.event(tag)],
    [r.gen, r.destination, JSON.stringify(r.request), Date.now(), KEPT],
  )) as (number | string)[];
  return { start: Number(start), failures: Number(failures) };
}
