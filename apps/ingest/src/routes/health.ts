import { connectedReplicas, type Keys, type RedisClient, readyzChecks } from '@oncehook/shared';
import { Hono } from 'hono';
import type { Metrics } from '../metrics.ts';

/**
 * /healthz: the process answers. /readyz: Redis answers and takes writes, with each start-up check
 * of Redis shown (as on the worker's /readyz). /metrics: Prometheus.
 */
export function healthRoutes({
  redis,
  keys,
  metrics,
  redisChecked,
  ack,
}: {
  redis: RedisClient;
  keys: Keys;
  metrics: Metrics;
  redisChecked?: () => boolean;
  ack?: { replicas: number };
}) {
  const app = new Hono();
  app.get('/healthz', (c) => c.json({ ok: true }));
  app.get('/readyz', async (c) => {
    const checks = readyzChecks(metrics.redisChecks());
    if (redisChecked?.() === false)
      return c.json({ ok: false, redis: 'start-up checks pending', checks }, 503);
    try {
      await redis.set(keys.readyProbe, String(Date.now()), 'PX', 60_000);
      // With ACK_REPLICAS, too few connected replicas means every delivery would be refused.
      if (!ack?.replicas) return c.json({ ok: true, redis: 'ok', checks });
      const replicas = await connectedReplicas(redis);
      const ok = replicas === null || replicas >= ack.replicas;
      return c.json({ ok, redis: 'ok', replicas, ackReplicas: ack.replicas, checks }, ok ? 200 : 503);
    } catch (err) {
      return c.json({ ok: false, redis: (err as Error).message, checks }, 503);
    }
  });
  app.get('/metrics', async (c) => {
    c.header('content-type', metrics.registry.contentType);
    return c.body(await metrics.registry.metrics());
  });
  return app;
}
