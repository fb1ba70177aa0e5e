import { createKeys, createLogger, createRedis, superviseRedis } from '@oncehook/shared';
import { orExit, parseWorkerEnv } from '../../apps/worker/src/env.ts';
import { createServices } from '../../apps/worker/src/services/index.ts';
import { createWorkers } from '../../apps/worker/src/workers.ts';
import { WORKFLOWS } from '../../apps/worker/src/workflows/registry.ts';
import { chaosWorkflows } from './workflows.ts';

/**
 * The chaos run's worker: the worker's own `createWorkers`, wired as apps/worker/src/main.ts wires
 * it, with the built-in workflows and the chaos ones (workflows.ts). Run with `node --import tsx`.
 * CHAOS_PROBE_URL is where the ordered chaos workflow reports its runs.
 */
const config = orExit(() => parseWorkerEnv());
const log = createLogger(config, 'worker');
const redis = createRedis(config, 'patient', 'oncehook-chaos-worker');
const checked = superviseRedis(redis, log, config, (message) => {
  log.fatal(message);
  process.exit(78);
});
const keys = createKeys(config.QUEUE_PREFIX);
const probeUrl = process.env.CHAOS_PROBE_URL;
if (!probeUrl) {
  log.fatal('CHAOS_PROBE_URL is required');
  process.exit(78);
}
const workers = createWorkers({
  config,
  redis,
  keys,
  workflows: [...WORKFLOWS, ...chaosWorkflows({ prefix: config.QUEUE_PREFIX, probeUrl })],
  services: createServices(config, redis, keys, log),
  log,
});
void checked.then(() => workers.run());

process.on('SIGTERM', () => {
  void workers.close().finally(() => process.exit(0));
});
