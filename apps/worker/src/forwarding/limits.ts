import { randomUUID } from 'node:crypto';
import { type Keys, luaScript, type RedisClient } from '@oncehook/shared';
import type { Destination } from './destinations-file.ts';

/**
 * A destination's limits, shared by every worker: at most `maxInFlight` requests at once and
 * `ratePerSecond` started in any second, counted in Redis (keys.ts: `dest:{<name>}:…`, one slot).
 * Beside them, the events waiting for their delivery (over a limit, or between retries), which
 * the metrics read the oldest of: each kept until a minute past its next request, when it is
 * waiting again (and written again) or done; so nothing needs to take it out.
 */

/** How long past its next request a waiting event is counted as waiting. */
const WAITING_GRACE_MS = 60_000;

// KEYS[1] the requests in flight (zset: token -> lease end, ms)
// KEYS[2] the requests started in the last second (zset: token -> start, ms)
// KEYS[3] the events waiting (zset: '<received, ms> <event tag>' -> counted until, ms)
// ARGV[1] this request's token, ARGV[2] maxInFlight (0: none), ARGV[3] ratePerSecond (0: none)
// ARGV[4] the lease (ms): a worker killed mid-request holds its place no longer
// ARGV[5] the event's member in the waiting set, ARGV[6] how long it is counted waiting (ms)
// Returns {1} if the request may start (it is in flight now), else {0, ms until a place may be
// free, events waiting}.
const ACQUIRE = luaScript(`
local inFlight, started, waiting = KEYS[1], KEYS[2], KEYS[3]
local token, maxInFlight, rate, lease = ARGV[1], tonumber(ARGV[2]), tonumber(ARGV[3]), tonumber(ARGV[4])
local member, grace = ARGV[5], tonumber(ARGV[6])
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
  redis.call('ZADD', waiting, now + wait + grace, member)
  return {0, wait, redis.call('ZCARD', waiting)}
end
redis.call('ZADD', inFlight, now + lease, token)
redis.call('ZADD', started, now, token)
redis.call('PEXPIRE', inFlight, lease)
redis.call('PEXPIRE', started, 1000)
redis.call('ZREM', waiting, member)
return {1}
`);

export type Place = { token: string } | { waitMs: number };

const waitingMember = (event: { tag: string; receivedAt: number }) => `${event.receivedAt} ${event.tag}`;

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
    [token, d.maxInFlight ?? 0, d.ratePerSecond ?? 0, lease, waitingMember(event), WAITING_GRACE_MS],
  )) as number[];
  if (ok === 1) return { token };
  // Spread the waiting events over the time their turns take, so that they do not all come back
  // at the same moment to find one place.
  const perSecond = d.ratePerSecond ?? (d.maxInFlight ?? 1) * 10;
  return { waitMs: wait + Math.random() * Math.min(2_000, (waiting * 1000) / perSecond) };
}

/** The request ended: its place is free. */
export async function leavePlace(redis: RedisClient, keys: Keys, d: Destination, token: string) {
  await redis.zrem(keys.destination(d.name).inFlight, token);
}

/** The event waits for its next request, at `until`. */
export async function waitsUntil(
  redis: RedisClient,
  keys: Keys,
  d: Destination,
  event: { tag: string; receivedAt: number },
  until: number,
) {
  await redis.zadd(keys.destination(d.name).waiting, until + WAITING_GRACE_MS, waitingMember(event));
}

/** Seconds since the oldest event waiting for its delivery to `destination` was received (0: none). */
export async function oldestWaiting(redis: RedisClient, keys: Keys, destination: string): Promise<number> {
  const waiting = keys.destination(destination).waiting;
  await redis.zremrangebyscore(waiting, '-inf', Date.now());
  const received = (await redis.zrange(waiting, '0', '-1')).map((member) => Number.parseInt(member, 10));
  return received.length === 0 ? 0 : (Date.now() - Math.min(...received)) / 1000;
}
