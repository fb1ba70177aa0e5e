import { type Keys, type RedisClient, readDemoLedger } from '@oncehook/shared';
import { Hono, type MiddlewareHandler } from 'hono';
import { unavailable } from '../errors.ts';

/**
 * GET /demo/ledger: `{ entries, totals: { USD: cents, ... } }`, written by the demo workflows (and
 * the Stripe ones: revenue). `guard`, in production: the admin credentials (app.ts).
 */
export function demoLedgerRoutes({
  redis,
  keys,
  guard,
}: {
  redis: RedisClient;
  keys: Keys;
  guard?: MiddlewareHandler | undefined;
}) {
  const app = new Hono();
  if (guard) app.use('/demo/ledger', guard);
  app.get('/demo/ledger', async (c) => {
    try {
      return c.json(await readDemoLedger(redis, keys));
    } catch (err) {
      throw unavailable(err);
    }
  });
  return app;
}
