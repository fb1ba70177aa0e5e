import { afterEach, describe, expect, it } from 'vitest';
import { createRedis, type RedisClient, waitForRedis } from './redis.ts';
import {
  checkResults,
  isSupportedRedis,
  judgeServers,
  parseInfo,
  readServerFacts,
  versionFromHello,
} from './redis-checks.ts';

const facts = (over: Partial<Parameters<typeof judgeServers>[0][number]> = {}) => ({
  server: '127.0.0.1:6379',
  version: '7.2.4',
  evictionPolicy: 'noeviction',
  persistence: 'aof' as const,
  ...over,
});

describe('Redis checks', () => {
  let client: RedisClient | undefined;
  afterEach(() => client?.disconnect());

  it('turns the facts into one result per check, for /readyz and the gauge', () => {
    expect(checkResults([facts()]).map((c) => [c.check, c.ok])).toEqual([
      ['version', true],
      ['eviction_policy', true],
      ['persistence', true],
    ]);
    const bad = checkResults([
      facts({ version: '6.2.1', evictionPolicy: 'allkeys-lru', persistence: 'none' }),
    ]);
    expect(bad.every((c) => !c.ok)).toBe(true);
    expect(bad.find((c) => c.check === 'eviction_policy')?.value).toBe('allkeys-lru');
    const denied = checkResults([facts({ evictionPolicy: undefined, persistence: 'unknown' })]);
    expect(denied.filter((c) => !c.ok).map((c) => c.value)).toEqual(['unknown', 'unknown']);
  });

  it('reads the version from a HELLO reply, and INFO lines', () => {
    expect(versionFromHello(['server', 'redis', 'version', '6.2.14', 'proto', 2])).toBe('6.2.14');
    expect(versionFromHello(['server', 'redis'])).toBeUndefined();
    expect(versionFromHello('OK')).toBeUndefined();
    expect(
      parseInfo('# Memory\r\nmaxmemory_policy:allkeys-lru\r\nused_memory:1\r\n').get('maxmemory_policy'),
    ).toBe('allkeys-lru');
  });

  it('accepts 7.0 and later, refuses 6.x', () => {
    expect(isSupportedRedis('7.0.0')).toBe(true);
    expect(isSupportedRedis('8.2.1')).toBe(true);
    expect(isSupportedRedis('6.2.14')).toBe(false);
    expect(judgeServers([facts({ version: '6.2.14' })], { ALLOW_EVICTION: false }).fatal).toMatch(
      /REDIS_URL.*7\.0/,
    );
  });

  it('refuses any eviction policy but noeviction, unless ALLOW_EVICTION, and then warns', () => {
    for (const policy of ['volatile-lru', 'allkeys-lru', 'allkeys-random', 'volatile-ttl']) {
      const refused = judgeServers([facts({ evictionPolicy: policy })], { ALLOW_EVICTION: false });
      expect(refused.fatal).toContain(`maxmemory-policy ${policy}`);
      expect(refused.fatal).toContain('noeviction');
      expect(refused.fatal).toContain('ALLOW_EVICTION=1');
      const allowed = judgeServers([facts({ evictionPolicy: policy })], { ALLOW_EVICTION: true });
      expect(allowed.fatal).toBeUndefined();
      expect(allowed.warnings.join()).toContain('ALLOW_EVICTION=1');
    }
    expect(judgeServers([facts()], { ALLOW_EVICTION: false })).toEqual({ warnings: [] });
  });

  it('warns when nothing persists, and says when it could not check', () => {
    expect(judgeServers([facts({ persistence: 'none' })], { ALLOW_EVICTION: false }).warnings.join()).toMatch(
      /persists nothing.*appendonly yes/,
    );
    const blind = judgeServers([facts({ evictionPolicy: undefined, persistence: 'unknown' })], {
      ALLOW_EVICTION: false,
    });
    expect(blind.fatal).toBeUndefined();
    expect(blind.warnings.join()).toMatch(/could not read maxmemory-policy/);
    expect(blind.warnings.join()).toMatch(/could not check persistence/);
  });

  it('reads the facts from the real server the tests run on', async () => {
    client = createRedis({ REDIS_URL: process.env.REDIS_URL || 'redis://127.0.0.1:6379' }, 'fail-fast');
    await waitForRedis(client);
    const [server] = await readServerFacts(client);
    expect(server?.version).toMatch(/^\d+\.\d+/);
    expect(server?.evictionPolicy).toMatch(/^[a-z-]+$/);
    expect(['aof', 'rdb', 'none']).toContain(server?.persistence);
  });
});
