import { randomUUID } from 'node:crypto';
import { type Keys, type Logger, luaScript, type RedisClient } from '@oncehook/shared';

/**
 * One reconciler per source at a time: a Redis lock with a random token and a time to live,
 * renewed while the run goes on. A reconciler that dies (kill -9) holds it until it expires. The
 * lock only keeps two runs from doing the same work: the checkpoint writes check the token in
 * their own scripts (checkpoint.ts), so a run that lost its lock cannot move a checkpoint, and
 * the ingest path dedupes whatever two runs feed twice.
 */
export interface SourceLock {
  token: string;
  /** True once a renewal found another token, or none succeeded for a whole time to live. */
  lost(): boolean;
  release(): Promise<void>;
}

// KEYS[1] the lock; ARGV[1] its token, ARGV[2] its time to live (ms). Returns 1 if still held.
const RENEW = luaScript(`
local lock, token, ttl = KEYS[1], ARGV[1], ARGV[2]
if redis.call('GET', lock) ~= token then return 0 end
redis.call('PEXPIRE', lock, ttl)
return 1
`);

// KEYS[1] the lock; ARGV[1] its token. Deletes it only if it is still this token's.
const RELEASE = luaScript(`
local lock, token = KEYS[1], ARGV[1]
if redis.call('GET', lock) == token then redis.call('DEL', lock) end
return 0
`);

/** The source's lock, or null if another reconciler holds it. */
export async function acquireLock(
  redis: RedisClient,
  keys: Keys,
  source: string,
  ttlMs: number,
  log: Logger,
): Promise<SourceLock | null> {
  const key = keys.reconcileLock(source);
  const token = randomUUID();
  if ((await redis.set(key, token, 'PX', ttlMs, 'NX')) !== 'OK') return null;

  let renewedAt = Date.now();
  let taken = false;
  const timer = setInterval(() => {
    RENEW(redis, [key], [token, ttlMs])
      .then((held) => {
        if (held === 1) renewedAt = Date.now();
        else taken = true;
      })
      .catch((err: Error) => log.warn({ source, err: err.message }, 'could not renew the reconciler lock'));
  }, ttlMs / 3);
  timer.unref();

  return {
    token,
    lost: () => taken || Date.now() - renewedAt > ttlMs,
    async release() {
      clearInterval(timer);
      await RELEASE(redis, [key], [token]).catch(() => {});
    },
  };
}
