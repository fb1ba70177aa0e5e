import { type Keys, type RedisClient, readDemoLedger } from '@oncehook/shared';
import { Hono } from 'hono';
import { unavailable } from '../errors.ts';

/** GET /demo/ledger: `{ entries, totals: { USD: cents, ... } }`, written by the demo workflows. */
export function demoLedgerRoutes({ redis, keys }: { redis: RedisClient; keys: Keys }) {
  const app = new Hono();
  app.get('/demo/ledger', async (c) => {
    try {
      return c.json(await readDemoLedger(redis, keys));
    } catch (err) {
      throw unavailable(err);
    }
  });
  return app;
}
