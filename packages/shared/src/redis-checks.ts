import type { Logger } from './logger.ts';
import type { RedisClient } from './redis.ts';

/**
 * oncehook needs Redis >= 7.0: the dedupe record relies on `EXPIRE key ttl NX` (the window starts
 * at the first delivery). On an older server every delivery would fail with 503 forever, which
 * looks like an outage rather than a configuration error — so the apps check at start-up.
 *
 * The version comes from HELLO, not INFO: INFO is in @dangerous, which hardened ACLs deny.
 */
export const MIN_REDIS_MAJOR = 7;

/** The `version` field of a RESP2 HELLO reply (a flat [key, value, ...] array). */
export function versionFromHello(reply: unknown): string | undefined {
  if (!Array.isArray(reply)) return undefined;
  const at = reply.indexOf('version');
  const value = at >= 0 ? reply[at + 1] : undefined;
  return typeof value === 'string' ? value : undefined;
}

export function isSupportedRedis(version: string): boolean {
  const major = Number.parseInt(version.split('.')[0] ?? '', 10);
  return Number.isFinite(major) && major >= MIN_REDIS_MAJOR;
}

/**
 * Checks the server version once the connection is ready (now, or whenever Redis comes up) and
 * calls `onTooOld` if it is below 7.0. A server that will not say is given the benefit of doubt.
 */
export function checkRedisVersionWhenReady(client: RedisClient, onTooOld: (version: string) => void): void {
  const check = async () => {
    const version = versionFromHello(await client.call('HELLO').catch(() => undefined));
    if (version && !isSupportedRedis(version)) onTooOld(version);
  };
  if (client.status === 'ready') void check();
  else client.once('ready', () => void check());
}

/**
 * What both apps' `main` does with its connection: log its errors, and call `onFatal` with a
 * message naming the variable if the server cannot serve oncehook (the app then exits).
 */
export function superviseRedis(client: RedisClient, log: Logger, onFatal: (message: string) => void): void {
  client.on('error', (err: Error) => log.warn({ err: err.message }, 'redis connection error'));
  checkRedisVersionWhenReady(client, (version) => {
    onFatal(`REDIS_URL: Redis ${version} is too old; oncehook needs Redis 7.0 or later`);
  });
}
