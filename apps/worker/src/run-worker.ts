import {
  ConfigError,
  createKeys,
  createLogger,
  createRedis,
  type Logger,
  type RedisClient,
  superviseRedis,
} from '@oncehook/shared';
import { checkTriggers, createRegistry } from './engine/registry.ts';
import type { WorkflowDefinition } from './engine/workflow.ts';
import { orExit, parseWorkerEnv, type WorkerEnv } from './env.ts';
import { destinationWorkflow } from './forwarding/destination.ts';
import { oldestWaiting } from './forwarding/limits.ts';
import { createFailureAlert } from './observability/failure-alert.ts';
import { createWorkerHttp } from './observability/http.ts';
import { createWorkerMetrics } from './observability/metrics.ts';
import { createRunObserver } from './observability/observer.ts';
import { createWorkers } from './workers.ts';

/** What a `services` function receives: the worker's own configuration, connection and logger. */
export interface ServicesContext {
  config: WorkerEnv;
  redis: RedisClient;
  log: Logger;
}

export interface RunWorkerOptions<Services> {
  workflows: readonly WorkflowDefinition<Services>[];
  /** What steps reach through `ctx.services`: an object, or a function building it at start-up. */
  services?: Services | ((ctx: ServicesContext) => Services | Promise<Services>);
  /** The environment to read (default `process.env`). */
  env?: Record<string, string | undefined>;
  /** Logged with the start-up line (what the services connect to, say). */
  describe?: Record<string, unknown>;
  /**
   * Problems with your own configuration (`"PAYMENTS_URL: must be a URL"`): reported with the
   * worker's own, all at once, and the process stops (exit code 78).
   */
  configProblems?: string[];
}

/** Active jobs get this long to finish on SIGTERM; after it their locks expire and another worker resumes them. */
const SHUTDOWN_GRACE_MS = 10_000;

/**
 * Runs a worker process for `workflows`, and for the destinations of DESTINATIONS_FILE beside them:
 * reads the worker's environment (REDIS_URL, QUEUE_PREFIX, WORKER_CONCURRENCY, METRICS_PORT, …),
 * stops with exit code 78 and a message naming the variable on a bad one (or on a workflow whose
 * trigger names no source, a destination that is not right), checks Redis before
 * taking a job, serves /metrics, /healthz and /readyz on METRICS_PORT, sends failure alerts, and
 * on SIGTERM/SIGINT finishes the active jobs (at most 10 s) and exits.
 */
export async function runWorker<Services>(options: RunWorkerOptions<Services>) {
  const config = orExit(() => parseWorkerEnv(options.env, options.configProblems));
  const log = createLogger(config, 'worker');
  const redis = createRedis(config, 'patient', 'oncehook-worker');
  const keys = createKeys(config.QUEUE_PREFIX);
  const forwardsTo = config.destinations.map((d) => d.name);
  const names = [...options.workflows.map((wf) => wf.name), ...forwardsTo];
  // Read at scrape time, once the workers (and their queues) exist.
  const metrics = createWorkerMetrics(() => workers?.queues() ?? [], names, {
    names: forwardsTo,
    oldestWaiting: (name) => oldestWaiting(redis, keys, name),
  });
  // Each destination is a workflow beside the application's own.
  const workflows = [
    ...options.workflows,
    ...config.destinations.map((d) =>
      destinationWorkflow(d, { redis, keys, backoffMs: config.BACKOFF_MS, metrics }),
    ),
  ] as WorkflowDefinition<Services>[];
  orExit(() => checkWorkflows(workflows, config.SOURCES_FILE));
  const fatal = (message: string): never => {
    log.fatal(message);
    process.exit(78);
  };
  const checked = superviseRedis(redis, log, config, fatal, metrics.redisChecked);
  const given = options.services;
  const services = (
    typeof given === 'function'
      ? await (given as (ctx: ServicesContext) => Services | Promise<Services>)({ config, redis, log })
      : given
  ) as Services;
  const alert = config.ALERT_WEBHOOK_URL
    ? createFailureAlert({ url: config.ALERT_WEBHOOK_URL, redis, keys, log })
    : undefined;
  const observer = createRunObserver({ metrics, alert, log });
  const workers = createWorkers({
    config,
    redis,
    keys,
    workflows,
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
  const http = serveMetrics(config, log, createWorkerHttp({ redis, keys, metrics, running: () => running }));
  log.info(
    {
      concurrency: config.WORKER_CONCURRENCY,
      partitions: workers.partitions(),
      workflows: options.workflows.map((wf) => wf.name),
      ...(forwardsTo.length > 0 ? { forwardsTo } : {}),
      alerts: config.ALERT_WEBHOOK_URL ? 'on' : 'off',
      ...options.describe,
    },
    'worker started',
  );

  let stopping = false;
  async function close() {
    const timeout = new Promise<'timeout'>((r) => setTimeout(() => r('timeout'), SHUTDOWN_GRACE_MS).unref());
    if ((await Promise.race([workers.close(), timeout])) === 'timeout')
      log.warn('active jobs did not finish in time: leaving them to stalled-job recovery');
    http?.close();
    redis.disconnect();
  }
  const shutdown = async (signal: string) => {
    if (stopping) process.exit(1); // a second signal: stop now
    stopping = true;
    log.info({ signal }, 'shutting down: no new jobs, finishing the active ones');
    await close();
    process.exit(0);
  };
  process.on('SIGTERM', () => void shutdown('SIGTERM'));
  process.on('SIGINT', () => void shutdown('SIGINT'));
  return { config, log, redis, close };
}

/** The workflows, the destinations among them, can run: names, steps, sources; and there is one. */
function checkWorkflows(workflows: readonly WorkflowDefinition<unknown>[], sourcesFile?: string) {
  if (workflows.length === 0)
    throw new ConfigError([
      'DESTINATIONS_FILE: required by a worker without workflows (it has nothing to run)',
    ]);
  createRegistry(workflows);
  checkTriggers(workflows, sourcesFile);
}

/**
 * METRICS_PORT (0: off). A port set on purpose and taken is a configuration error; the default
 * taken means a second worker on this machine: it serves on a free port and says which.
 */
function serveMetrics(config: WorkerEnv, log: Logger, http: ReturnType<typeof createWorkerHttp>) {
  if (config.METRICS_PORT === 0) return undefined;
  http.on('error', (err: NodeJS.ErrnoException) => {
    if (!config.metricsPortChosen && err.code === 'EADDRINUSE') {
      log.warn(`METRICS_PORT ${config.METRICS_PORT} is taken (another worker here?): serving on a free port`);
      http.listen(0);
      return;
    }
    log.fatal(
      `METRICS_PORT: cannot listen on ${config.METRICS_PORT} (${err.message}); set another port, or 0 for none`,
    );
    process.exit(78);
  });
  http.on('listening', () => {
    const { port } = http.address() as { port: number };
    log.info({ metricsPort: port }, `worker metrics on :${port}/metrics`);
  });
  http.listen(config.METRICS_PORT);
  return http;
}
