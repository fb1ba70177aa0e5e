import { type Keys, luaScript, type RedisClient } from '@oncehook/shared';

/**
 * The two scripts of an ordering lane (lanes.ts says what a lane is). Both touch only the lane's
 * two keys, which share the lane's hash tag: one Redis Cluster slot, never the event record's.
 *
 * Lane hash fields: `holder` (the member running now), `pending` (set while the holder is an event
 * the lane was handed to and whose job has not started yet), `r:<member>` (the member's job: id,
 * queue, partition; kept while it waits or holds), `d:<member>` (a waiting member's job data, to
 * add the job again if it was removed).
 */

// KEYS[1] the lane hash
// KEYS[2] the lane's waiting set (members scored by provider time)
// ARGV[1] member: '<arrival, zero-padded> <the event's job id>'
// ARGV[2] score: provider time (ms)
// ARGV[3] the job's ref (JSON)
// ARGV[4] the job's data (JSON)
// Returns {'hold'}, or {'parked', holder, holder's ref, pending ('1' | ''), holder's data if pending}.
const TAKE = luaScript(`
local lane, waiting = KEYS[1], KEYS[2]
local member, score, ref, data = ARGV[1], ARGV[2], ARGV[3], ARGV[4]
local holder = redis.call('HGET', lane, 'holder')
if not holder or holder == member then
  -- Free, or this event's own job again (a retry, a stalled run recovered, the run handed the lane).
  redis.call('HSET', lane, 'holder', member, 'r:' .. member, ref)
  redis.call('HDEL', lane, 'pending', 'd:' .. member)
  redis.call('ZREM', waiting, member)
  return {'hold'}
end
redis.call('ZADD', waiting, score, member)
redis.call('HSET', lane, 'r:' .. member, ref, 'd:' .. member, data)
local h = redis.call('HMGET', lane, 'r:' .. holder, 'pending')
local pendingData = ''
if h[2] then pendingData = redis.call('HGET', lane, 'd:' .. holder) or '' end
return {'parked', holder, h[1] or '', h[2] and '1' or '', pendingData}
`);

// KEYS[1] the lane hash
// KEYS[2] the lane's waiting set
// ARGV[1] member: the holder releasing it, or one that must not wait any more
// ARGV[2] 'release' (only the holder may; a sweep releases for a holder whose job is gone), or
//         'leave' (a member that waits, or holds, leaves the lane)
// Returns {'free'} | {'handed', next member, its ref, its data} | {'left'} | {'not-holder'}.
const RELEASE = luaScript(`
local lane, waiting = KEYS[1], KEYS[2]
local member, mode = ARGV[1], ARGV[2]
local holder = redis.call('HGET', lane, 'holder')
if holder ~= member then
  if mode ~= 'leave' then return {'not-holder'} end
  redis.call('ZREM', waiting, member)
  redis.call('HDEL', lane, 'r:' .. member, 'd:' .. member)
  if not holder and redis.call('ZCARD', waiting) == 0 then redis.call('DEL', lane) end
  return {'left'}
end
redis.call('HDEL', lane, 'r:' .. member, 'd:' .. member, 'pending')
local head = redis.call('ZRANGE', waiting, 0, 0)[1]
if not head then
  redis.call('DEL', lane)
  return {'free'}
end
redis.call('ZREM', waiting, head)
redis.call('HSET', lane, 'holder', head, 'pending', 1)
local next = redis.call('HMGET', lane, 'r:' .. head, 'd:' .. head)
return {'handed', head, next[1] or '', next[2] or ''}
`);

/** Where a job lives, to wake it (or add it again) from another worker. */
export interface JobRef {
  id: string;
  queue: 'events' | 'workflows';
  /** [index, count]: its queue partition. */
  partition: [number, number];
}

/** A member of a lane and its job, as the scripts report it. */
export interface LaneMember {
  member: string;
  ref: JobRef | null;
  /** Its job's data, when known (to add the job again if it is gone). */
  data: unknown;
}

export type Taken = { kind: 'hold' } | { kind: 'parked'; holder: LaneMember & { pending: boolean } };

export type Released = { kind: 'free' | 'left' | 'not-holder' } | { kind: 'handed'; next: LaneMember };

const laneKeys = (keys: Keys, lane: string) => [keys.lane(lane), keys.laneWaiting(lane)];
const parse = (json: string | undefined) => (json ? JSON.parse(json) : null);

export async function takeLane(
  redis: RedisClient,
  keys: Keys,
  lane: string,
  m: { member: string; score: number; ref: JobRef; data: unknown },
): Promise<Taken> {
  const [kind, holder = '', ref, pending, data] = (await TAKE(redis, laneKeys(keys, lane), [
    m.member,
    m.score,
    JSON.stringify(m.ref),
    JSON.stringify(m.data),
  ])) as string[];
  if (kind === 'hold') return { kind };
  return {
    kind: 'parked',
    holder: { member: holder, ref: parse(ref), data: parse(data), pending: pending === '1' },
  };
}

export async function releaseLane(
  redis: RedisClient,
  keys: Keys,
  lane: string,
  member: string,
  mode: 'release' | 'leave' = 'release',
): Promise<Released> {
  const [kind, next = '', ref, data] = (await RELEASE(redis, laneKeys(keys, lane), [
    member,
    mode,
  ])) as string[];
  if (kind === 'handed') return { kind, next: { member: next, ref: parse(ref), data: parse(data) } };
  return { kind: kind as 'free' | 'left' | 'not-holder' };
}

/** The member holding the lane now, if any. */
export const laneHolder = async (redis: RedisClient, keys: Keys, lane: string) =>
  redis.hget(keys.lane(lane), 'holder');
