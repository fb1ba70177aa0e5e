import { afterEach, describe, expect, it } from 'vitest';
import { createRedis, type RedisClient } from './redis.ts';
import { checkRedisVersionWhenReady, isSupportedRedis, versionFromHello } from './redis-checks.ts';

describe('Redis version check', () => {
  let client: RedisClient | undefined;
  afterEach(() => client?.disconnect());

  it('reads the version from a HELLO reply', () => {
    expect(versionFromHello(['server', 'redis', 'version', '6.2.14', 'proto', 2])).toBe('6.2.14');
    expect(versionFromHello(['server', 'redis'])).toBeUndefined();
    expect(versionFromHello('OK')).toBeUndefined();
  });

  it('accepts 7.0 and later, refuses 6.x', () => {
    expect(isSupportedRedis('7.0.0')).toBe(true);
    expect(isSupportedRedis('8.2.1')).toBe(true);
    expect(isSupportedRedis('6.2.14')).toBe(false);
    expect(isSupportedRedis('5.0.7')).toBe(false);
  });

  it('passes against the real server the tests run on, which answers HELLO', async () => {
    client = createRedis({ REDIS_URL: process.env.REDIS_URL || 'redis://127.0.0.1:6379' }, 'fail-fast');
    const version = await new Promise<string | undefined>((resolve) => {
      const c = client as RedisClient;
      c.once('ready', async () => resolve(versionFromHello(await c.call('HELLO'))));
    });
    expect(version).toMatch(/^\d+\.\d+/);
    let tooOld: string | undefined;
    checkRedisVersionWhenReady(client, (v) => {
      tooOld = v;
    });
    await new Promise((r) => setTimeout(r, 200));
    expect(tooOld).toBeUndefined();
  });
});
