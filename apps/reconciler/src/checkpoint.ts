import { type Keys, luaScript, type RedisClient } from '@oncehook/shared';
import type { SourceLock } from './lock.ts';

/**
 * Where a reconciler stands in one provider list (a *feed*: Stripe's events, one GitHub hook's
 * deliveries), kept in Redis. Times are the provider's `created` / `delivered_at`, unix seconds.
 *
 * - `checkpoint`: every event of the feed created before it was fed into the ingest path. It only
 *   moves once a run from at or before it has finished, and never back.
 * - a run in progress (`from`, `to`, `upTo`): its range, and how far down it got. Pages come
 *   newest first; `upTo` moves to the oldest `created` of a page once every event on that page was
 *   accepted. A run that dies is resumed over [from, upTo]: the events at `upTo` itself are fed
 *   again (others may share that second), the ones before it never skipped.
 *
 * Every write checks, in the same script, that the writer still holds the source's lock.
 */
export interface FeedState {
  checkpoint?: number;
  unfinished?: { from: number; to: number; upTo: number };
}

export class LockLost extends Error {
  override name = 'LockLost';
}

// A feed's state lasts as long as the longest list a provider keeps (Stripe: 30 days) after its
// last write: a checkpoint older than that points at nothing any provider still lists.
const STATE_TTL_SECONDS = 31 * 24 * 60 * 60;

// Every script: KEYS[1] the source's lock, KEYS[2] the feed's hash; ARGV[1] the lock's token (the
// write happens only while it is still held: -1 otherwise).

// ARGV[2] the run's range start, ARGV[3] its end, ARGV[4] the feed's time to live (s). Returns 1.
const BEGIN = luaScript(`
local lock, feed = KEYS[1], KEYS[2]
local token, from, to, ttl = ARGV[1], ARGV[2], ARGV[3], ARGV[4]
if redis.call('GET', lock) ~= token then return -1 end
redis.call('HSET', feed, 'from', from, 'to', to, 'upTo', to)
redis.call('EXPIRE', feed, ttl)
return 1
`);

// ARGV[2] how far down the run has gone. Returns 1.
const PROGRESS = luaScript(`
local lock, feed = KEYS[1], KEYS[2]
local token, upTo = ARGV[1], ARGV[2]
if redis.call('GET', lock) ~= token then return -1 end
redis.call('HSET', feed, 'upTo', upTo)
return 1
`);

// A run that started after the checkpoint leaves a gap before it: the checkpoint stays.
// ARGV[2] the run's range start, ARGV[3] its end, ARGV[4] the feed's time to live (s).
// Returns the checkpoint now.
const COMMIT = luaScript(`
local lock, feed = KEYS[1], KEYS[2]
local token, from, to, ttl = ARGV[1], tonumber(ARGV[2]), tonumber(ARGV[3]), ARGV[4]
if redis.call('GET', lock) ~= token then return -1 end
local cp = tonumber(redis.call('HGET', feed, 'checkpoint'))
if cp == nil or from <= cp then
  if cp == nil or to > cp then cp = to end
  redis.call('HSET', feed, 'checkpoint', cp)
end
redis.call('HDEL', feed, 'from', 'to', 'upTo')
redis.call('EXPIRE', feed, ttl)
return cp
`);

export function feedState(redis: RedisClient, keys: Keys, source: string, feed: string, lock: SourceLock) {
  const KEYS = [keys.reconcileLock(source), keys.reconcileFeed(source, feed)];
  const fenced = (done: unknown) => {
    if (done === -1) throw new LockLost(`the ${source} reconciler lock was taken over`);
    return Number(done);
  };
  return {
    async read(): Promise<FeedState> {
      const h = await redis.hgetall(keys.reconcileFeed(source, feed));
      const state: FeedState = {};
      if (h.checkpoint) state.checkpoint = Number(h.checkpoint);
      if (h.from && h.to && h.upTo)
        state.unfinished = { from: Number(h.from), to: Number(h.to), upTo: Number(h.upTo) };
      return state;
    },
    async begin(from: number, to: number) {
      fenced(await BEGIN(redis, KEYS, [lock.token, from, to, STATE_TTL_SECONDS]));
    },
    async progress(upTo: number) {
      fenced(await PROGRESS(redis, KEYS, [lock.token, upTo]));
    },
    /** Ends the run over [from, to]; returns the checkpoint afterwards. */
    async commit(from: number, to: number): Promise<number> {
      return fenced(await COMMIT(redis, KEYS, [lock.token, from, to, STATE_TTL_SECONDS]));
    },
  };
}

export type Feed = ReturnType<typeof feedState>;
