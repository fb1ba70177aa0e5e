import cluster from 'node:cluster';
import { createLogger, type Logger } from '@oncehook/shared';
import type { ExtraRoutes } from './app.ts';
import { type IngestEnv, orExit, parseIngestEnv } from './env.ts';
import { runIngestServer } from './server.ts';

export interface RunIngestOptions {
  /** Routes of your own beside the ingest's (an operator's view of your data, say). */
  routes?: ExtraRoutes;
  /** The environment to read (default `process.env`). */
  env?: Record<string, string | undefined>;
}

/**
 * Runs the ingest from its environment (PORT, REDIS_URL, the sources' secrets, ADMIN_TOKEN, …):
 * verify -> dedupe -> enqueue -> 200, the status and admin routes, /metrics. A bad variable stops
 * the process with exit code 78 and a message naming it. With INGEST_PROCESSES > 1 this process
 * forks that many ingest processes on one port instead.
 */
export function runIngest(options: RunIngestOptions = {}) {
  const config = orExit(() => parseIngestEnv(options.env));
  const log = createLogger(config, 'ingest');
  if (config.INGEST_PROCESSES > 1 && cluster.isPrimary) superviseProcesses(config, log);
  else runIngestServer(config, log, options.routes);
}

/**
 * INGEST_PROCESSES > 1: this process only forks that many ingest processes, which share PORT
 * (node:cluster hands them the connections), and replaces one that dies. The ingest is stateless:
 * every guarantee lives in Redis, so any process may take any delivery.
 */
function superviseProcesses(config: IngestEnv, log: Logger) {
  const n = config.INGEST_PROCESSES;
  let stopping = false;
  for (let i = 0; i < n; i++) cluster.fork();
  cluster.on('exit', (worker, code, signal) => {
    if (stopping) return;
    // A bad configuration stops every process the same way: stop, rather than fork forever.
    if (code === 78) process.exit(78);
    log.warn({ pid: worker.process.pid, code, signal }, 'an ingest process died: starting another');
    cluster.fork();
  });
  const stop = (signal: NodeJS.Signals) => {
    stopping = true;
    for (const worker of Object.values(cluster.workers ?? {})) worker?.process.kill(signal);
    let alive = Object.keys(cluster.workers ?? {}).length;
    if (alive === 0) process.exit(0);
    cluster.on('exit', () => --alive === 0 && process.exit(0));
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
  log.info({ processes: n }, `ingest: ${n} processes on :${config.PORT}`);
}
