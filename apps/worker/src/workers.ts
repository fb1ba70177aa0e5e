import { bullPrefix, type Keys, type Logger, QUEUES, type RedisClient } from '@oncehook/shared';
import { Queue, Worker, type WorkerOptions } from 'bullmq';
import { dispatchEvent } from './engine/dispatch.ts';
import { createRegistry } from './engine/registry.ts';
import { runWorkflowJob } from './engine/run-workflow.ts';
import type { WorkflowDefinition } from './engine/workflow.ts';
import type { WorkerEnv } from './env.ts';

/**
 * Crash recovery. A worker killed -9 stops renewing its jobs' locks; after `lockDuration` the
 * next stalled check (every `stalledInterval`) puts them back in `wait`, so another worker takes
 * them within ~15 s. Markers make the re-run start at the first unfinished step, and make a run
 * that only *lost* its lock (a long GC pause) harmless, so stalling is never a reason to fail a
 * job: `maxStalledCount` is practically unlimited (BullMQ's default of 1 would fail a job on
 * its second crash).
 */
export const RECOVERY = {
  lockDuration: 10_000,
  stalledInterval: 5_000,
  maxStalledCount: 1_000_000,
} satisfies Partial<WorkerOptions>;

export interface WorkerDeps<Services> {
  config: Pick<
    WorkerEnv,
    'QUEUE_PREFIX' | 'WORKER_CONCURRENCY' | 'SIMULATE_CRASH' | 'MAX_ATTEMPTS' | 'BACKOFF_MS'
  >;
  redis: RedisClient;
  keys: Keys;
  workflows: readonly WorkflowDefinition<Services>[];
  services: Services;
  log: Logger;
}

/**
 * Two BullMQ workers: the dispatcher (`events` -> one `workflows` job per workflow) and the
 * step engine (`workflows`). Both start taking jobs at once.
 */
export function createWorkers<Services>(deps: WorkerDeps<Services>) {
  const { config, redis, keys, log } = deps;
  const registry = createRegistry(deps.workflows);
  const prefix = bullPrefix(config);
  const queue = new Queue(QUEUES.workflows, { connection: redis, prefix });
  const options: WorkerOptions = {
    connection: redis,
    prefix,
    concurrency: config.WORKER_CONCURRENCY,
    ...RECOVERY,
  };

  const dispatcher = new Worker(
    QUEUES.events,
    (job) => dispatchEvent({ redis, keys, registry, queue, config, log }, job),
    options,
  );
  const engine = {
    redis,
    keys,
    registry,
    services: deps.services,
    log,
    simulateCrash: config.SIMULATE_CRASH,
  };
  const runner = new Worker(
    QUEUES.workflows,
    (job) =>
      runWorkflowJob(engine, {
        data: job.data,
        attemptsMade: job.attemptsMade,
        maxAttempts: job.opts.attempts ?? 1,
      }),
    options,
  );
  const onError = (err: Error) => log.warn({ err: err.message }, 'queue connection error');
  dispatcher.on('error', onError);
  runner.on('error', onError);
  queue.on('error', onError);
  const onStalled = (jobId: string) =>
    log.warn({ jobId }, 'stalled job (its worker died or lost the lock) is back in the queue');
  dispatcher.on('stalled', onStalled);
  runner.on('stalled', onStalled);

  return {
    registry,
    dispatcher,
    runner,
    /** Stops taking jobs and waits for the active ones to finish. */
    async close() {
      await Promise.allSettled([dispatcher.close(), runner.close()]);
      await queue.close();
    },
  };
}
