import { DelayedError, type Job } from 'bullmq';
import type { JobRef } from './engine/lane-scripts.ts';
import type { JobAttempt, JobOutcome } from './engine/process-job.ts';
import type { WorkerMetrics } from './observability/metrics.ts';

/**
 * The function a BullMQ Worker calls for each job: hands the engine what it needs of the job
 * (JobAttempt), and turns what the engine answers back into BullMQ's terms — a job that parked in
 * its ordering lane or waits for replicas was moved to `delayed`, and says so with DelayedError.
 */
export function jobProcessor(
  partition: { index: number; count: number },
  process: (attempt: JobAttempt) => Promise<JobOutcome>,
  deps: { metrics?: WorkerMetrics | undefined; workflowOf: (job: Job) => string },
) {
  return async (job: Job, token?: string) => {
    deps.metrics?.active.inc();
    let outcome: JobOutcome | undefined;
    try {
      outcome = await process(attemptOf(job, partition, token));
    } finally {
      deps.metrics?.active.dec();
      if (!waits(outcome) && replayedRun(job)) deps.metrics?.runEnded(deps.workflowOf(job), 'replayed');
    }
    if (waits(outcome)) throw new DelayedError();
    return outcome;
  };
}

const waits = (outcome: JobOutcome | undefined) =>
  outcome?.outcome === 'parked' || outcome?.outcome === 'deferred';

/**
 * A replayed run's first attempt: the admin API's replay (`replay` in its data, attempts reset),
 * or a retry from the dashboard (attempts not reset: it starts past its last). Counted when it
 * runs, not when it parks in its ordering lane (it runs once woken).
 */
const replayedRun = (job: Job) =>
  (job.data?.replay !== undefined && job.attemptsMade === 0) || job.attemptsMade >= (job.opts.attempts ?? 1);

function attemptOf(job: Job, partition: { index: number; count: number }, token?: string): JobAttempt {
  return {
    data: job.data,
    ref: {
      id: String(job.id),
      queue: job.queueName as JobRef['queue'],
      partition: [partition.index, partition.count],
    },
    attemptsMade: job.attemptsMade,
    attemptsStarted: job.attemptsStarted,
    maxAttempts: job.opts.attempts ?? 1,
    // BullMQ's lock: the job's key + `:lock` holds the token of the worker that owns it.
    ...(token ? { lock: { key: `${job.queueQualifiedName}:${job.id}:lock`, token } } : {}),
    defer: (until) => job.moveToDelayed(until, token),
  };
}
