import { type Keys, type RedisClient, readDemoSubscription } from '@oncehook/shared';
import { Hono, type MiddlewareHandler } from 'hono';
import { ApiError, unavailable } from '../errors.ts';

/**
 * GET /demo/subscriptions/:id: the subscription mirror's state of one Stripe subscription.
 * `guard`, in production: the admin credentials (app.ts).
 */
export function demoSubscriptionRoutes({
  redis,
  keys,
  guard,
}: {
  redis: RedisClient;
  keys: Keys;
  guard?: MiddlewareHandler | undefined;
}) {
  const app = new Hono();
  if (guard) app.use('/demo/subscriptions/*', guard);
  app.get('/demo/subscriptions/:id', async (c) => {
    let found: Awaited<ReturnType<typeof readDemoSubscription>>;
    try {
      found = await readDemoSubscription(redis, keys, c.req.param('id'));
    } catch (err) {
      throw unavailable(err);
    }
    if (!found) throw new ApiError('not_found', 'No event about this subscription has been applied.');
    return c.json(found);
  });
  return app;
}
