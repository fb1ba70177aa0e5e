import { freePort, spawnApp, startTestRedis, type TestRedis, waitFor } from '@oncehook/testing';
import { afterEach, describe, expect, it } from 'vitest';

/**
 * A Redis that may evict keys drops dedupe records (re-deliveries are processed again) and, under
 * allkeys-*, queued jobs (ACKed events are lost). Both apps refuse to start on one, saying what to
 * set; ALLOW_EVICTION=1 is the way out for a shared Redis, with a warning on every start.
 */
let redis: TestRedis | undefined;
afterEach(() => redis?.stop());

describe.each(['volatile-lru', 'allkeys-lru'])('a Redis with maxmemory-policy %s', (policy) => {
  it.each(['ingest', 'worker'] as const)(
    'stops the %s at start-up with a message that says what to set',
    async (app) => {
      redis = await startTestRedis({ args: ['--maxmemory', '64mb', '--maxmemory-policy', policy] });
      const proc = spawnApp(app, { REDIS_URL: redis.url, PORT: String(await freePort()) });
      const { code } = await proc.exited;
      expect(code).toBe(78);
      expect(proc.output()).toContain(`maxmemory-policy ${policy}`);
      expect(proc.output()).toContain('noeviction');
      expect(proc.output()).toContain('ALLOW_EVICTION=1');
      // Its own refusal, not BullMQ's warning (printed once per connection) before it.
      expect(proc.output()).not.toContain('IMPORTANT!');
    },
  );
});

describe('ALLOW_EVICTION=1', () => {
  it.each(['ingest', 'worker'] as const)(
    'lets the %s start, with a warning that exactly-once does not hold',
    async (app) => {
      redis = await startTestRedis({ args: ['--maxmemory-policy', 'allkeys-lru'] });
      const proc = spawnApp(app, {
        REDIS_URL: redis.url,
        PORT: String(await freePort()),
        ALLOW_EVICTION: '1',
      });
      try {
        await waitFor(() => proc.output().includes('exactly-once does not hold'), 20_000, 'the warning');
        // It keeps running: the check warns, it does not stop the process.
        await new Promise((r) => setTimeout(r, 500));
        expect(proc.child.exitCode).toBeNull();
      } finally {
        proc.kill();
        await proc.exited;
      }
    },
  );
});

describe('a Redis that persists nothing', () => {
  it('is a warning that says what a 200 is then worth', async () => {
    redis = await startTestRedis();
    const proc = spawnApp('worker', { REDIS_URL: redis.url });
    try {
      await waitFor(() => proc.output().includes('persists nothing'), 20_000, 'the warning');
      expect(proc.output()).toContain('appendonly yes');
      expect(proc.child.exitCode).toBeNull();
    } finally {
      proc.kill();
      await proc.exited;
    }
  });
});
