import { type Keys, type RedisClient, readDemoSubscription } from '@oncehook/shared';
import { Hono } from 'hono';
import { ApiError, unavailable } from '../errors.ts';

/** GET /demo/subscriptions/:id: the subscription mirror's state of one Stripe subscription. */
export function demoSubscriptionRoutes({ redis, keys }: { redis: RedisClient; keys: Keys }) {
  const app = new Hono();
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
