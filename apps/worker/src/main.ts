import { createKeys, createLogger, createRedis, superviseRedis } from '@oncehook/shared';
import { orExit, parseWorkerEnv } from './env.ts';
import { createServices } from './services/index.ts';
import { createWorkers } from './workers.ts';
import { WORKFLOWS } from './workflows/registry.ts';

const config = orExit(() => parseWorkerEnv());
const log = createLogger(config, 'worker');

const redis = createRedis(config, 'patient', 'oncehook-worker');
const checked = superviseRedis(redis, log, config, (message) => {
  log.fatal(message);
  process.exit(78);
});
const keys = createKeys(config.QUEUE_PREFIX);
const services = createServices(config, redis, keys, log);
const workers = createWorkers({ config, redis, keys, workflows: WORKFLOWS, services, log });
// No job is taken before the Redis checks passed (an evicting Redis stops the process instead).
void checked.then(() => workers.run());

log.info(
  {
    concurrency: config.WORKER_CONCURRENCY,
    partitions: workers.partitions(),
    workflows: workers.registry.all.map((wf) => wf.name),
    payments: services.payments.kind,
    mailer: services.mailer.kind,
    stripeObjects: services.stripeObjects.kind,
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
  redis.disconnect();
  process.exit(0);
}
process.on('SIGTERM', () => void shutdown('SIGTERM'));
process.on('SIGINT', () => void shutdown('SIGINT'));
