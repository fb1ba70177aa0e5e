import type { Keys, RedisClient } from '@oncehook/shared';
import { Hono } from 'hono';
import { unavailable } from '../errors.ts';

/** GET /demo/ledger: `{ entries, totals: { USD: cents, ... } }`, written by the demo workflows. */
export function demoLedgerRoutes({ redis, keys }: { redis: RedisClient; keys: Keys }) {
  const app = new Hono();
  app.get('/demo/ledger', async (c) => {
    try {
      const [entries, totals] = await Promise.all([
        redis.llen(keys.demoLedger),
        redis.hgetall(keys.demoLedgerTotals),
      ]);
      return c.json({
        entries,
        totals: Object.fromEntries(Object.entries(totals).map(([cur, v]) => [cur, Number(v)])),
      });
    } catch (err) {
      throw unavailable(err);
    }
  });
  return app;
}
