import { ApiError, type ExtraRoutes, unavailable } from '@oncehook/ingest';
import { demoKeys } from './keys.ts';
import { readDemoLedger } from './ledger.ts';
import { readDemoSubscription } from './subscriptions.ts';

/**
 * The example's read routes beside the ingest's: GET /demo/ledger (`{ entries, totals }`) and
 * GET /demo/subscriptions/:id (the subscription mirror). Open for a first try; in production
 * `guard` asks for the admin credentials: they show revenue and customers' subscriptions.
 */
export const demoRoutes: ExtraRoutes = (app, { redis, prefix, guard }) => {
  const keys = demoKeys(prefix);
  if (guard) app.use('/demo/*', guard);
  app.get('/demo/ledger', async (c) => c.json(await read(() => readDemoLedger(redis, keys))));
  app.get('/demo/subscriptions/:id', async (c) => {
    const found = await read(() => readDemoSubscription(redis, keys, c.req.param('id')));
    if (!found) throw new ApiError('not_found', 'No event about this subscription has been applied.');
    return c.json(found);
  });
};

async function read<T>(fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    throw unavailable(err);
  }
}
