import { spawnApp, startTestRedis } from '@oncehook/testing';
import { describe, expect, it } from 'vitest';

/**
 * The reconciler (`npm run reconcile`, `npm run start:reconciler`) refuses what it cannot do before it
 * does anything: bad variables and nothing to reconcile stop it with 78 (EX_CONFIG) naming them,
 * bad arguments with 2 and the usage, an evicting Redis with 78 as for the other processes.
 */
const run = async (env: Record<string, string>, args: string[] = ['--once']) => {
  const proc = spawnApp('reconciler', { REDIS_URL: 'redis://127.0.0.1:1', ...env }, args);
  const { code } = await proc.exited;
  return { code, output: proc.output() };
};

describe('the reconciler at start-up', () => {
  it('exits 78 naming every bad variable', async () => {
    const bad = {
      RECONCILE_INTERVAL: 'soon',
      RECONCILE_LOOKBACK: '90d',
      PAYMENTS_URL: 'ftp://stripe',
      GITHUB_HOOKS: 'acme/shop',
      RECONCILER_METRICS_PORT: 'metrics',
    };
    const { code, output } = await run(bad);
    expect(code).toBe(78);
    for (const name of Object.keys(bad)) expect(output).toContain(name);
    expect(output).toContain('owner/repo:hook_id');
  });

  it('exits 78 when a source is asked for but not configured, or none is', async () => {
    const github = await run({ PAYMENTS_API_KEY: 'sk_test_x' }, ['--once', '--source', 'github']);
    expect(github.code).toBe(78);
    expect(github.output).toContain('GITHUB_HOOKS and GITHUB_TOKEN');
    const tokenless = await run({ GITHUB_HOOKS: 'acme/shop:42' });
    expect(tokenless.code).toBe(78);
    expect(tokenless.output).toContain('GITHUB_TOKEN: required when GITHUB_HOOKS is set');
    const nothing = await run({}, []);
    expect(nothing.code).toBe(78);
    expect(nothing.output).toContain('nothing to reconcile');
    const twoKeys = await run({ PAYMENTS_API_KEY: 'sk_a', STRIPE_SECRET_KEY: 'sk_b' });
    expect(twoKeys.code).toBe(78);
    expect(twoKeys.output).toContain('PAYMENTS_API_KEY, STRIPE_SECRET_KEY');
    expect(twoKeys.output).not.toContain('sk_a');
  });

  it('exits 2 with the usage on bad arguments', async () => {
    for (const args of [['--once', '--source', 'shopify'], ['--once', '--since', 'a while'], ['--sauce']]) {
      const { code, output } = await run({ PAYMENTS_API_KEY: 'sk_test_x' }, args);
      expect(code).toBe(2);
      expect(output).toContain('usage: npm run reconcile');
    }
  });

  it('refuses a Redis that may evict keys, as the other processes do', async () => {
    const redis = await startTestRedis({ args: ['--maxmemory-policy', 'allkeys-lru'] });
    try {
      const { code, output } = await run({ REDIS_URL: redis.url, PAYMENTS_API_KEY: 'sk_test_x' });
      expect(code).toBe(78);
      expect(output).toContain('maxmemory-policy allkeys-lru');
    } finally {
      redis.stop();
    }
  });
});
