import { connectedReplicas, type Keys, type RedisClient, readyzChecks } from '@oncehook/shared';
import { Hono, type MiddlewareHandler } from 'hono';
import type { AdminEnv } from '../admin-auth.ts';
import type { Metrics } from '../metrics.ts';

/**
 * /healthz: the process answers. /readyz: Redis answers and takes writes: `{ ok }`, 200 or 503, for
 * load balancers and anyone else. With the admin credentials it also shows why: each start-up
 * check of Redis (as on the worker's /readyz), the replicas, Redis's own error. That names the
 * Redis host, its version and persistence: nothing the public port should tell a stranger.
 * /metrics: Prometheus.
 */
export function healthRoutes({
  redis,
  keys,
  metrics,
  redisChecked,
  ack,
  admin,
}: {
  redis: RedisClient;
  keys: Keys;
  metrics: Metrics;
  redisChecked?: () => boolean;
  ack?: { replicas: number };
  /** The admin auth: a /readyz that presents credentials must pass it, and gets the details. */
  admin?: MiddlewareHandler<AdminEnv> | undefined;
}) {
  const app = new Hono<AdminEnv>();
  app.get('/healthz', (c) => c.json({ ok: true }));
  app.get(
    '/readyz',
    (c, next) => (admin && c.req.header('authorization') ? admin(c, next) : next()),
    async (c) => {
      const answer = (ok: boolean, details: Record<string, unknown>) =>
        c.json(c.get('operator') ? { ok, ...details } : { ok }, ok ? 200 : 503);
      const checks = readyzChecks(metrics.redisChecks());
      if (redisChecked?.() === false) return answer(false, { redis: 'start-up checks pending', checks });
      try {
        await redis.set(keys.readyProbe, String(Date.now()), 'PX', 60_000);
        // With ACK_REPLICAS, too few connected replicas means every delivery would be refused.
        if (!ack?.replicas) return answer(true, { redis: 'ok', checks });
        const replicas = await connectedReplicas(redis);
        const ok = replicas === null || replicas >= ack.replicas;
        return answer(ok, { redis: 'ok', replicas, ackReplicas: ack.replicas, checks });
      } catch (err) {
        return answer(false, { redis: (err as Error).message, checks });
      }
    },
  );
  app.get('/metrics', async (c) => {
    c.header('content-type', metrics.registry.contentType);
    return c.body(await metrics.registry.metrics());
  });
  return app;
}
