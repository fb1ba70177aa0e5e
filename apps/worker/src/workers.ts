import { bullPrefix, type Keys, type Logger, QUEUES, type RedisClient } from '@oncehook/shared';
import { type Job, Queue, Worker, type WorkerOptions } from 'bullmq';
import { type JobAttempt, processEventJob, processWorkflowJob } from './engine/process-job.ts';
import { createRegistry } from './engine/registry.ts';
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
    | 'QUEUE_PREFIX'
    | 'WORKER_CONCURRENCY'
    | 'SIMULATE_CRASH'
    | 'MAX_ATTEMPTS'
    | 'BACKOFF_MS'
    | 'FAILED_RETENTION'
    | 'STEP_RESULT_MAX_BYTES'
    | 'COMPLETED_RETENTION'
    | 'COMPLETED_JOBS_KEPT'
    | 'ACK_REPLICAS'
    | 'ACK_REPLICA_TIMEOUT_MS'
  >;
  redis: RedisClient;
  keys: Keys;
  workflows: readonly WorkflowDefinition<Services>[];
  services: Services;
  log: Logger;
}

/**
 * Two BullMQ workers: one for `events` (an event's first stop: it runs the event's workflow, or
 * fans several out) and one for `workflows`. They take jobs once `run()` is called.
 */
export function createWorkers<Services>(deps: WorkerDeps<Services>) {
  const { config, redis, keys, log } = deps;
  const registry = createRegistry(deps.workflows);
  const prefix = bullPrefix(config);
  const workflowsQueue = new Queue(QUEUES.workflows, { connection: redis, prefix });
  const options: WorkerOptions = {
    connection: redis,
    prefix,
    concurrency: config.WORKER_CONCURRENCY,
    ...RECOVERY,
    autorun: false,
  };
  const engine = {
    redis,
    keys,
    registry,
    services: deps.services,
    log,
    env: config,
    simulateCrash: config.SIMULATE_CRASH,
    workflowsQueue,
  };
  const attempt = (job: Job, token?: string): JobAttempt => ({
    data: job.data,
    attemptsMade: job.attemptsMade,
    attemptsStarted: job.attemptsStarted,
    maxAttempts: job.opts.attempts ?? 1,
    // BullMQ's lock: the job's key + `:lock` holds the token of the worker that owns it.
    ...(token ? { lock: { key: `${job.queueQualifiedName}:${job.id}:lock`, token } } : {}),
  });

  const events = new Worker(
    QUEUES.events,
    (job, token) => processEventJob(engine, attempt(job, token)),
    options,
  );
  const runner = new Worker(
    QUEUES.workflows,
    (job, token) => processWorkflowJob(engine, attempt(job, token)),
    options,
  );
  const onError = (err: Error) => log.warn({ err: err.message }, 'queue connection error');
  events.on('error', onError);
  runner.on('error', onError);
  workflowsQueue.on('error', onError);
  const onStalled = (jobId: string) =>
    log.warn({ jobId }, 'stalled job (its worker died or lost the lock) is back in the queue');
  events.on('stalled', onStalled);
  runner.on('stalled', onStalled);

  return {
    registry,
    events,
    runner,
    /** Starts taking jobs. */
    run() {
      for (const worker of [events, runner]) {
        worker.run().catch((err: Error) => log.error({ err: err.message }, 'worker stopped'));
      }
    },
    /** Stops taking jobs and waits for the active ones to finish. */
    async close() {
      await Promise.allSettled([events.close(), runner.close()]);
      await workflowsQueue.close();
    },
  };
}
