import { createServer } from 'node:http';
import type { AcceptDeps } from '@oncehook/ingest/accept';
import {
  createKeys,
  createLogger,
  createRedis,
  openQueues,
  superviseRedis,
  waitForRedis,
} from '@oncehook/shared';
import { parseReconcilerArgs, USAGE } from './args.ts';
import { orExit, parseReconcilerEnv } from './env.ts';
import { createReconcilerMetrics } from './metrics.ts';
import { describeOutcome, exitCodeOf } from './report.ts';
import { type RunDeps, type RunOutcome, reconcileSource } from './run.ts';
import { chooseSources, createSource } from './sources/registry.ts';

/**
 * `npm run reconcile -- [--source …] [--since …]` (one run, then exit) and `npm run start:reconciler`
 * (a run of every source every RECONCILE_INTERVAL, metrics on RECONCILER_METRICS_PORT).
 */
const args = parseReconcilerArgs(process.argv.slice(2), Math.floor(Date.now() / 1000));
if (!args.ok) {
  console.error(`${args.message}\n\n${USAGE}`);
  process.exit(process.argv.includes('--help') ? 0 : 2);
}
const { once: oneOff, since, sources: requested } = args;
const config = orExit(() => parseReconcilerEnv());
const names = orExit(() => chooseSources(config, requested));
const log = createLogger(config, 'reconciler');

const redis = createRedis(config, 'fail-fast', 'oncehook-reconciler');
let redisChecked = false;
const checked = superviseRedis(redis, log, config, (message) => {
  log.fatal(message);
  process.exit(78);
}).then(() => {
  redisChecked = true;
});
const queues = openQueues(config, redis, (err) => log.warn({ err: err.message }, 'queue error'));
const keys = createKeys(config.QUEUE_PREFIX);
const accept: AcceptDeps = { redis, keys, queues, retry: config, log, redisChecked: () => redisChecked };
const sources = names.map((name) => createSource(name, config, { accept, redis, keys }));
const metrics = createReconcilerMetrics(names);

let stopping = false;
let wake = () => {};
const deps: RunDeps = {
  redis,
  keys,
  log,
  metrics,
  lockTtlMs: config.RECONCILE_LOCK_SECONDS * 1000,
  lookbackSeconds: config.RECONCILE_LOOKBACK,
  stopping: () => stopping,
};

async function round(opts: { since?: number } = {}): Promise<RunOutcome[]> {
  const outcomes: RunOutcome[] = [];
  for (const source of sources) {
    if (stopping) break;
    const outcome = await reconcileSource(deps, source, opts);
    const line = describeOutcome(source.name, outcome);
    if (outcome.result === 'failed') log.error({ source: source.name, err: outcome.error?.message }, line);
    else log.info({ source: source.name, result: outcome.result, ...outcome.tally }, line);
    outcomes.push(outcome);
  }
  return outcomes;
}

async function once() {
  await waitForRedis(redis, 10_000).catch((err: Error) => {
    console.error(`REDIS_URL: ${err.message}`);
    process.exit(1);
  });
  await checked;
  const outcomes = await round({ since });
  for (const [i, outcome] of outcomes.entries()) console.log(describeOutcome(names[i] as string, outcome));
  await stop(exitCodeOf(outcomes));
}

async function service() {
  const port = config.RECONCILER_METRICS_PORT;
  const server = port > 0 ? serveMetrics(port) : undefined;
  log.info(
    { sources: names, intervalSeconds: config.RECONCILE_INTERVAL, metricsPort: port || null },
    `reconciler: ${names.join(', ')} every ${config.RECONCILE_INTERVAL} s`,
  );
  await checked;
  while (!stopping) {
    await round();
    await new Promise<void>((resolve) => {
      wake = resolve;
      setTimeout(resolve, config.RECONCILE_INTERVAL * 1000);
    });
  }
  server?.close();
  await stop(0);
}

/** GET /metrics (Prometheus) and GET /healthz. */
function serveMetrics(port: number) {
  return createServer((req, res) => {
    if (req.url === '/healthz') return void res.end('ok');
    if (req.url !== '/metrics') return void res.writeHead(404).end();
    metrics.registry
      .metrics()
      .then((text) => res.writeHead(200, { 'content-type': metrics.registry.contentType }).end(text))
      .catch(() => res.writeHead(500).end());
  })
    .on('error', (err) => {
      log.fatal({ err: err.message }, `RECONCILER_METRICS_PORT: cannot listen on ${port}`);
      process.exit(1);
    })
    .listen(port);
}

async function stop(code: number) {
  await queues.close();
  redis.disconnect();
  process.exit(code);
}

const onSignal = (signal: NodeJS.Signals) => {
  if (stopping) return;
  stopping = true;
  log.info({ signal }, 'stopping after the current page');
  wake();
};
process.on('SIGTERM', onSignal);
process.on('SIGINT', onSignal);

await (oneOff ? once() : service());
