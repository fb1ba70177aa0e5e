import { randomUUID } from 'node:crypto';
import { EVENT_FIELDS, type Keys, luaScript, type RedisClient } from '@oncehook/shared';
import type { Destination } from './destinations-file.ts';

/**
 * A destination's limits, shared by every worker: at most `maxInFlight` requests at once and
 * `ratePerSecond` started in any second, counted in Redis (keys.ts: `dest:{<name>}:…`, one slot).
 * The same keys keep the events waiting for their delivery (over a limit, or between retries),
 * which the metrics read the oldest of.
 */

// KEYS[1] the requests in flight (zset: token -> lease end, ms)
// KEYS[2] the requests started in the last second (zset: token -> start, ms)
// KEYS[3] the events waiting (zset: event tag -> received, ms)
// ARGV[1] this request's token, ARGV[2] maxInFlight (0: none), ARGV[3] ratePerSecond (0: none)
// ARGV[4] the lease (ms): a worker killed mid-request holds its place no longer
// ARGV[5] the event's tag, ARGV[6] when it was received (ms)
// Returns {1} if the request may start (it is in flight now), else {0, ms until a place may be
// free, events waiting}.
const ACQUIRE = luaScript(`
local inFlight, started, waiting = KEYS[1], KEYS[2], KEYS[3]
local token, maxInFlight, rate, lease = ARGV[1], tonumber(ARGV[2]), tonumber(ARGV[3]), tonumber(ARGV[4])
local tag, received = ARGV[5], ARGV[6]
-- One clock for every worker: Redis's.
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
redis.call('ZREMRANGEBYSCORE', inFlight, '-inf', now)
redis.call('ZREMRANGEBYSCORE', started, '-inf', now - 1000)
local wait = 0
if maxInFlight > 0 and redis.call('ZCARD', inFlight) >= maxInFlight then wait = 50 end
if rate > 0 and redis.call('ZCARD', started) >= rate then
  local oldest = redis.call('ZRANGE', started, 0, 0, 'WITHSCORES')
  wait = math.max(wait, tonumber(oldest[2]) + 1000 - now)
end
if wait > 0 then
  redis.call('ZADD', waiting, 'NX', received, tag)
  return {0, wait, redis.call('ZCARD', waiting)}
end
redis.call('ZADD', inFlight, now + lease, token)
redis.call('ZADD', started, now, token)
redis.call('PEXPIRE', inFlight, lease)
redis.call('PEXPIRE', started, 1000)
redis.call('ZREM', waiting, tag)
return {1}
`);

// KEYS[1] the requests in flight, KEYS[2] the events waiting
// ARGV[1] the request's token ('' if it took no place), ARGV[2] the event's tag, ARGV[3] when it
// was received (ms), ARGV[4] '1' if it still waits for its delivery (it is retried)
// Returns nothing.
const RELEASE = luaScript(`
local inFlight, waiting = KEYS[1], KEYS[2]
local token, tag, received, waits = ARGV[1], ARGV[2], ARGV[3], ARGV[4]
redis.call('ZREM', inFlight, token)
if waits == '1' then redis.call('ZADD', waiting, 'NX', received, tag) else redis.call('ZREM', waiting, tag) end
`);

export type Place = { token: string } | { waitMs: number };

/** A place for one request within the destination's limits, or how long to wait for one. */
export async function takePlace(
  redis: RedisClient,
  keys: Keys,
  d: Destination,
  event: { tag: string; receivedAt: number },
): Promise<Place> {
  const k = keys.destination(d.name);
  const token = randomUUID();
  // The answer's timeout, and time for a worker's death to free the place after it.
  const lease = d.timeoutMs + 5_000;
  const [ok, wait = 0, waiting = 0] = (await ACQUIRE(
    redis,
    [k.inFlight, k.started, k.waiting],
    [token, d.maxInFlight ?? 0, d.ratePerSecond ?? 0, lease, event.tag, event.receivedAt],
  )) as number[];
  if (ok === 1) return { token };
  // Spread the waiting events over the time their turns take, so that they do not all come back
  // at the same moment to find one place.
  const perSecond = d.ratePerSecond ?? (d.maxInFlight ?? 1) * 10;
  return { waitMs: wait + Math.random() * Math.min(2_000, (waiting * 1000) / perSecond) };
}

/** The request ended: its place is free; the event waits on (retried) or is done waiting. */
export async function leavePlace(
  redis: RedisClient,
  keys: Keys,
  d: Destination,
  r: { token: string; tag: string; receivedAt: number; waits: boolean },
): Promise<void> {
  const k = keys.destination(d.name);
  await RELEASE(redis, [k.inFlight, k.waiting], [r.token, r.tag, r.receivedAt, r.waits ? '1' : '0']);
}

/**
 * Seconds since the oldest event waiting for its delivery to `d` was received (0: none waits). An
 * event whose run ended without saying so (its job removed by hand) is dropped from the set here.
 */
export async function oldestWaiting(redis: RedisClient, keys: Keys, destination: string): Promise<number> {
  const waiting = keys.destination(destination).waiting;
  for (let looked = 0; looked < 10; looked++) {
    const [tag, received] = await redis.zrange(waiting, '0', '0', 'WITHSCORES');
    if (tag === undefined) return 0;
    const state = await redis.hget(keys.event(tag), EVENT_FIELDS.runState(destination));
    if (state && state !== 'completed' && state !== 'failed') return (Date.now() - Number(received)) / 1000;
    await redis.zrem(waiting, tag);
  }
  return 0;
}
