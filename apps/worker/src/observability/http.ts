import { createServer, type Server } from 'node:http';
import { type Keys, type RedisClient, readyzChecks } from '@oncehook/shared';
import type { WorkerMetrics } from './metrics.ts';

export interface WorkerHttpDeps {
  redis: RedisClient;
  keys: Keys;
  metrics: WorkerMetrics;
  /** True once the start-up checks of Redis passed and the workers take jobs. */
  running: () => boolean;
}

/**
 * The worker's HTTP side on METRICS_PORT, for Prometheus and an orchestrator's probes:
 *   /metrics   Prometheus
 *   /healthz   the process answers
 *   /readyz    Redis answers and takes writes, its start-up checks passed (each shown), jobs are taken
 */
export function createWorkerHttp(deps: WorkerHttpDeps): Server {
  return createServer((req, res) => {
    const send = (status: number, body: unknown) => {
      res.writeHead(status, { 'content-type': 'application/json' });
      res.end(JSON.stringify(body));
    };
    const path = (req.url ?? '/').split('?')[0];
    if (req.method !== 'GET') return send(405, { error: 'GET only' });
    if (path === '/healthz') return send(200, { ok: true });
    if (path === '/readyz') {
      void readiness(deps).then(({ ok, ...body }) => send(ok ? 200 : 503, { ok, ...body }));
      return;
    }
    if (path === '/metrics') {
      deps.metrics.registry.metrics().then(
        (text) => {
          res.writeHead(200, { 'content-type': deps.metrics.registry.contentType });
          res.end(text);
        },
        (err: Error) => send(500, { error: err.message }),
      );
      return;
    }
    send(404, { error: 'no such route: /metrics, /healthz, /readyz' });
  });
}

async function readiness(deps: WorkerHttpDeps) {
  const checks = readyzChecks(deps.metrics.redisChecks());
  if (!deps.running()) return { ok: false, redis: 'start-up checks pending', checks };
  try {
    await deps.redis.set(deps.keys.readyProbe, String(Date.now()), 'PX', 60_000);
    return { ok: true, redis: 'ok', checks };
  } catch (err) {
    return { ok: false, redis: (err as Error).message, checks };
  }
}
