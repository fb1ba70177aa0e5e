import { AGGREGATE_LUA } from './event-aggregate.ts';
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

// KEYS[1] the event hash
// ARGV[1] the record's generation, as read
// ARGV[2] reruns, as read
// ARGV[3] the runs to reset ('a,b'; '' when the event's job failed before a workflow was chosen)
// ARGV[4] keep the record until (ms)
// Returns {'claimed', reruns} | {'completed', workflow} | {'gone'} | {'superseded'} | {'raced'}.
const CLAIM = luaScript(`${AGGREGATE_LUA}
local ev = KEYS[1]
local gen, readReruns, runList, keepUntil = ARGV[1], ARGV[2], ARGV[3], ARGV[4]
local rec = redis.call('HMGET', ev, 'receivedAt', 'reruns')
if not rec[1] then return {'gone'} end
if rec[1] ~= gen then return {'superseded'} end
if (rec[2] or '0') ~= readReruns then return {'raced'} end
local runs = split(runList)
for _, wf in ipairs(runs) do
  if redis.call('HGET', ev, 's:' .. wf) == 'completed' then return {'completed', wf} end
end
for _, wf in ipairs(runs) do
  redis.call('HSET', ev, 's:' .. wf, 'queued')
  redis.call('HDEL', ev, 'e:' .. wf)
end
if #runs > 0 then aggregate(ev) end
keep(ev, keepUntil)
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
