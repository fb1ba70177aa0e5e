import { createKeys, createLogger, createRedis, superviseRedis } from '@oncehook/shared';
import { orExit, parseWorkerEnv } from './env.ts';
import { createFailureAlert } from './observability/failure-alert.ts';
import { createWorkerHttp } from './observability/http.ts';
import { createWorkerMetrics } from './observability/metrics.ts';
import { createRunObserver } from './observability/observer.ts';
import { createServices } from './services/index.ts';
import { createWorkers } from './workers.ts';
import { WORKFLOWS } from './workflows/registry.ts';

const config = orExit(() => parseWorkerEnv());
const log = createLogger(config, 'worker');

const redis = createRedis(config, 'patient', 'oncehook-worker');
// Read at scrape time, once the workers (and their queues) exist.
const metrics = createWorkerMetrics(
  () => workers.queues(),
  WORKFLOWS.map((wf) => wf.name),
);
const checked = superviseRedis(
  redis,
  log,
  config,
  (message) => {
    log.fatal(message);
    process.exit(78);
  },
  metrics.redisChecked,
);
const keys = createKeys(config.QUEUE_PREFIX);
const services = createServices(config, redis, keys, log);
const alert = config.ALERT_WEBHOOK_URL
  ? createFailureAlert({ url: config.ALERT_WEBHOOK_URL, redis, keys, log })
  : undefined;
const observer = createRunObserver({ metrics, alert, log });
const workers = createWorkers({
  config,
  redis,
  keys,
  workflows: WORKFLOWS,
  services,
  log,
  metrics,
  observer,
});
let running = false;
// No job is taken before the Redis checks passed (an evicting Redis stops the process instead).
void checked.then(() => {
  workers.run();
  running = true;
});

const http =
  config.METRICS_PORT === 0 ? undefined : createWorkerHttp({ redis, keys, metrics, running: () => running });
// A port set on purpose and taken is a configuration error. The default taken means a second
// worker on this machine (`pnpm start:worker` twice): it serves on a free port and says which.
const portChosen = Boolean(process.env.METRICS_PORT);
http?.on('error', (err: NodeJS.ErrnoException) => {
  if (!portChosen && err.code === 'EADDRINUSE') {
    log.warn(`METRICS_PORT ${config.METRICS_PORT} is taken (another worker here?): serving on a free port`);
    http.listen(0);
    return;
  }
  log.fatal(
    `METRICS_PORT: cannot listen on ${config.METRICS_PORT} (${err.message}); set another port, or 0 for none`,
  );
  process.exit(78);
});
http?.on('listening', () => {
  const { port } = http.address() as { port: number };
  log.info(`worker metrics on :${port}/metrics`);
});
http?.listen(config.METRICS_PORT);

log.info(
  {
    concurrency: config.WORKER_CONCURRENCY,
    partitions: workers.partitions(),
    workflows: workers.registry.all.map((wf) => wf.name),
    payments: services.payments.kind,
    mailer: services.mailer.kind,
    stripeObjects: services.stripeObjects.kind,
    metricsPort: config.METRICS_PORT || 'off',
    alerts: config.ALERT_WEBHOOK_URL ? 'on' : 'off',
    ...(config.SIMULATE_CRASH ? { simulateCrash: config.SIMULATE_CRASH } : {}),
  },
  'worker started',
);

// Active jobs get this long to finish; after it the process exits anyway and their locks expire,
// so that stalled-job recovery hands them to another worker (markers make that safe).
const SHUTDOWN_GRACE_MS = 10_000;
let stopping = false;
async function shutdown(signal: string) {
  if (stopping) process.exit(1); // a second signal: stop now
  stopping = true;
  log.info({ signal }, 'shutting down: no new jobs, finishing the active ones');
  const timeout = new Promise<'timeout'>((r) => setTimeout(() => r('timeout'), SHUTDOWN_GRACE_MS).unref());
  if ((await Promise.race([workers.close(), timeout])) === 'timeout') {
    log.warn('active jobs did not finish in time: leaving them to stalled-job recovery');
  }
  http?.close();
  redis.disconnect();
  process.exit(0);
}
process.on('SIGTERM', () => void shutdown('SIGTERM'));
process.on('SIGINT', () => void shutdown('SIGINT'));
