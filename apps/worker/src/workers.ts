import {
  type Keys,
  knownLayouts,
  type Logger,
  layout,
  openQueues,
  type Partition,
  parseTag,
  partitionsHoldingJobs,
  QUEUES,
  type RedisClient,
} from '@oncehook/shared';
import { type Job, Worker, type WorkerOptions } from 'bullmq';
import { type ProcessDeps, processEventJob, processWorkflowJob } from './engine/process-job.ts';
import { createRegistry } from './engine/registry.ts';
import type { RunObserver } from './engine/run-workflow.ts';
import type { WorkflowDefinition } from './engine/workflow.ts';
import type { WorkerEnv } from './env.ts';
import { jobProcessor } from './job-processor.ts';
import { laneJobs } from './lane-jobs.ts';
import type { WorkerMetrics } from './observability/metrics.ts';

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
    | 'QUEUE_PARTITIONS'
    | 'WORKER_PARTITIONS'
    | 'WORKER_CONCURRENCY'
    | 'MAX_ATTEMPTS'
    | 'BACKOFF_MS'
    | 'FAILED_RETENTION'
    | 'STEP_RESULT_MAX_BYTES'
    | 'COMPLETED_RETENTION'
    | 'COMPLETED_JOBS_KEPT'
    | 'ACK_REPLICAS'
    | 'ACK_REPLICA_TIMEOUT_MS'
    | 'PARKED_RECHECK_MS'
  >;
  redis: RedisClient;
  keys: Keys;
  workflows: readonly WorkflowDefinition<Services>[];
  services: Services;
  log: Logger;
  /** How often to look for partitions of an earlier QUEUE_PARTITIONS still holding jobs. */
  drainEveryMs?: number;
  metrics?: WorkerMetrics | undefined;
  /** Told how steps and runs went (metrics, the failure alert). */
  observer?: RunObserver | undefined;
}

const DRAIN_EVERY_MS = 30_000;

/**
 * Per partition it takes jobs from, two BullMQ workers: one for `events` (an event's first stop:
 * it runs the event's workflow, or fans several out to the same partition's `workflows`) and one
 * for `workflows`. Which partitions: WORKER_PARTITIONS of the current layout (default all), plus
 * every partition of an earlier layout that still holds jobs, found at start and every 30 s, so
 * that changing QUEUE_PARTITIONS strands nothing. WORKER_CONCURRENCY is the process's total,
 * split over its current partitions. They take jobs once `run()` is called.
 */
export function createWorkers<Services>(deps: WorkerDeps<Services>) {
  const { config, redis, keys, log } = deps;
  const registry = createRegistry(deps.workflows);
  const onError = (err: Error) => log.warn({ err: err.message }, 'queue connection error');
  const queues = openQueues(config, redis, onError);
  const assigned = (
    config.WORKER_PARTITIONS ?? layout(config.QUEUE_PREFIX, config.QUEUE_PARTITIONS).map((p) => p.index)
  )
    .filter((i) => i < config.QUEUE_PARTITIONS)
    .map((i) => queues.pair(i, config.QUEUE_PARTITIONS).partition);
  const concurrency = Math.max(1, Math.ceil(config.WORKER_CONCURRENCY / assigned.length));
  const onStalled = (queue: string) => (jobId: string) => {
    deps.metrics?.stalled(queue);
    // A job id starts with its event's tag (`<source>.<base64url id>`): named as the provider did.
    const event = parseTag(jobId.split('.', 2).join('.'));
    log.warn({ ...event, jobId }, 'stalled job (its worker died or lost the lock) is back in the queue');
  };
  const workflowOf = (job: Job): string =>
    job.data?.workflow ?? registry.forEvent(job.data?.source, job.data?.type)[0]?.name ?? 'unknown';
  const processor = <S>(engine: ProcessDeps<S>, partition: Partition, process: typeof processEventJob<S>) =>
    jobProcessor(partition, (attempt) => process(engine, attempt), {
      metrics: deps.metrics,
      workflowOf,
    });

  const jobs = laneJobs(queues, config);

  const consumers = new Map<string, Worker[]>();
  let running = false;
  function consume(partition: Partition) {
    if (consumers.has(partition.label)) return;
    const engine = {
      redis,
      keys,
      registry,
      services: deps.services,
      log,
      env: config,
      observer: deps.observer,
      workflowsQueue: queues.pair(partition.index, partition.count).workflows,
      jobs,
    };
    const options: WorkerOptions = {
      connection: redis,
      prefix: partition.prefix,
      concurrency,
      ...RECOVERY,
      autorun: false,
    };
    const pair = [
      new Worker(QUEUES.events, processor(engine, partition, processEventJob), options),
      new Worker(QUEUES.workflows, processor(engine, partition, processWorkflowJob), options),
    ];
    for (const worker of pair) {
      worker.on('error', onError);
      worker.on('stalled', onStalled(worker.name));
      if (running) start(worker);
    }
    consumers.set(partition.label, pair);
  }
  const start = (worker: Worker) =>
    worker.run().catch((err: Error) => log.error({ err: err.message }, 'worker stopped'));

  async function drainOlderLayouts() {
    for (const count of await knownLayouts(redis, keys, config.QUEUE_PARTITIONS)) {
      if (count === config.QUEUE_PARTITIONS) continue;
      for (const partition of await partitionsHoldingJobs(queues, redis, config.QUEUE_PREFIX, count)) {
        if (!consumers.has(partition.label))
          log.info({ partition: partition.label }, 'draining a partition of an earlier QUEUE_PARTITIONS');
        consume(partition);
      }
    }
  }

  let drainTimer: NodeJS.Timeout | undefined;

  return {
    registry,
    /** Every partition's queues opened so far (for the metrics). */
    queues: () => queues.pairs(),
    /** The partitions taken from, by label (`p0of3`). */
    partitions: () => [...new Set([...assigned.map((p) => p.label), ...consumers.keys()])],
    /** Starts taking jobs, and looking for partitions to drain. */
    run() {
      running = true;
      // BullMQ's workers are made only now: each checks Redis when made, and warns about an
      // evicting one — after the start-up checks, which stop the process first.
      for (const partition of assigned) consume(partition);
      const drain = () =>
        drainOlderLayouts().catch((err: Error) =>
          log.warn({ err: err.message }, 'could not look for partitions to drain'),
        );
      void drain();
      drainTimer = setInterval(drain, deps.drainEveryMs ?? DRAIN_EVERY_MS);
      drainTimer.unref();
    },
    /** Stops taking jobs and waits for the active ones to finish. */
    async close() {
      clearInterval(drainTimer);
      await Promise.allSettled([...consumers.values()].flat().map((w) => w.close()));
      await queues.close();
    },
  };
}
