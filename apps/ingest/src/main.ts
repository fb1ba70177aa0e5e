import cluster from 'node:cluster';
import { createLogger } from '@oncehook/shared';
import { orExit, parseIngestEnv } from './env.ts';
import { runIngestServer } from './server.ts';

const config = orExit(() => parseIngestEnv());
const log = createLogger(config, 'ingest');

if (config.INGEST_PROCESSES > 1 && cluster.isPrimary) superviseProcesses(config.INGEST_PROCESSES);
else runIngestServer(config, log);

/**
 * INGEST_PROCESSES > 1: this process only forks that many ingest processes, which share PORT
 * (node:cluster hands them the connections), and replaces one that dies. The ingest is stateless:
 * every guarantee lives in Redis, so any process may take any delivery.
 */
function superviseProcesses(n: number) {
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
