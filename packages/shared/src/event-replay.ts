import type { Keys } from './keys.ts';
import { luaScript } from './lua.ts';
import type { RedisClient } from './redis.ts';

/**
 * An operator's replay of a failed event, on the event's hash (keys.ts draws it): the runs to run
 * again go back to `queued`, and the event's `reruns` count goes up by one. Markers are never
 * touched: the worker skips every step that has one, so a replay runs only what was not done.
 *
 * The caller read `reruns` when it decided to replay; the script only resets the runs if it is
 * still that number, so that of two operators replaying one event at once exactly one wins (the
 * other is told `raced`), and a replay decided on a record of another generation does nothing.
 */

// KEYS: event hash. ARGV: gen, reruns as read, runs to reset ('a,b'; '' when the event's job
// failed before a workflow was chosen), keep until (ms).
const CLAIM = luaScript(`
local ev = KEYS[1]
local rec = redis.call('HMGET', ev, 'receivedAt', 'reruns', 'workflows')
if not rec[1] then return {'gone'} end
if rec[1] ~= ARGV[1] then return {'superseded'} end
if (rec[2] or '0') ~= ARGV[2] then return {'raced'} end
local runs = {}
for wf in string.gmatch(ARGV[3], '[^,]+') do
  if redis.call('HGET', ev, 's:' .. wf) == 'completed' then return {'completed', wf} end
  table.insert(runs, wf)
end
for _, wf in ipairs(runs) do
  redis.call('HSET', ev, 's:' .. wf, 'queued')
  redis.call('HDEL', ev, 'e:' .. wf)
end
if #runs > 0 then
  -- The event's state over its runs: queued, or processing while another run stays completed.
  local state = 'queued'
  for wf in string.gmatch(rec[3] or '', '[^,]+') do
    if redis.call('HGET', ev, 's:' .. wf) == 'completed' then state = 'processing' end
  end
  redis.call('HSET', ev, 'state', state)
  redis.call('HDEL', ev, 'error')
end
redis.call('PEXPIREAT', ev, ARGV[4], 'GT')
return {'claimed', redis.call('HINCRBY', ev, 'reruns', 1)}
`);

export type ReplayClaim =
  | { kind: 'claimed'; reruns: number }
  | { kind: 'gone' | 'superseded' | 'raced' }
  | { kind: 'completed'; workflow: string };

export async function claimReplay(
  redis: RedisClient,
  keys: Keys,
  tag: string,
  c: { gen: number; reruns: number; runs: string[]; keepUntil: number },
): Promise<ReplayClaim> {
  const [kind, value = ''] = (await CLAIM(
    redis,
    [keys.event(tag)],
    [c.gen, c.reruns, c.runs.join(','), c.keepUntil],
  )) as [string, string | number | undefined];
  if (kind === 'claimed') return { kind, reruns: Number(value) };
  if (kind === 'completed') return { kind, workflow: String(value) };
  return { kind: kind as 'gone' | 'superseded' | 'raced' };
}
