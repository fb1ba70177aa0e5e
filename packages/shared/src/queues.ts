import type { JobsOptions } from 'bullmq';
import type { BaseEnv } from './env.ts';

/**
 * The contract between ingest and worker on the BullMQ side.
 *
 * `events` holds one job per accepted event (job id = eventTag(source, eventId)); the worker's
 * dispatcher fans each one out to `workflows`, one job per workflow registered for the event's
 * type, so that independent consumers retry and fail on their own.
 */
export const QUEUES = {
  events: 'events',
  workflows: 'workflows',
} as const;

/**
 * What the dashboard shows a job as, so that an operator finds an event by eye: its source, event
 * id and type, and for one workflow of several, the workflow (`stripe evt_1 invoice.paid → mirror`).
 */
export const jobName = (job: {
  source: string;
  eventId: string;
  type: string;
  workflow?: string | undefined;
}) => `${job.source} ${job.eventId} ${job.type}${job.workflow ? ` → ${job.workflow}` : ''}`;

/** BullMQ's key prefix. Braced so that every key of a queue shares one Redis Cluster slot. */
export const bullPrefix = (config: Pick<BaseEnv, 'QUEUE_PREFIX'>) => `{${config.QUEUE_PREFIX}}`;

/**
 * Completed jobs are only kept for the dashboard (the event's record, not the job, is what
 * dedupes): COMPLETED_RETENTION seconds, at most COMPLETED_JOBS_KEPT per queue. A failed job is a
 * dead letter, replayable for FAILED_RETENTION (default: the event's dedupe window); the worker
 * keeps the event's markers at least as long, so that a replay never repeats a step that was done.
 */
export function retention(
  env: Partial<Pick<BaseEnv, 'FAILED_RETENTION' | 'COMPLETED_RETENTION' | 'COMPLETED_JOBS_KEPT'>>,
  windowSeconds: number,
) {
  return {
    removeOnComplete: { age: env.COMPLETED_RETENTION ?? 3600, count: env.COMPLETED_JOBS_KEPT ?? 1000 },
    removeOnFail: { age: failedRetentionSeconds(env, windowSeconds) },
  } satisfies Pick<JobsOptions, 'removeOnComplete' | 'removeOnFail'>;
}

export const failedRetentionSeconds = (
  env: Partial<Pick<BaseEnv, 'FAILED_RETENTION'>>,
  windowSeconds: number,
) => env.FAILED_RETENTION ?? windowSeconds;

/** Retries with exponential backoff from BACKOFF_MS; half of each delay is jitter, so a burst of
 * failures (a downstream API that went away) does not come back as a synchronised burst. */
export function jobOptions(
  env: Pick<BaseEnv, 'MAX_ATTEMPTS' | 'BACKOFF_MS'> &
    Partial<Pick<BaseEnv, 'FAILED_RETENTION' | 'COMPLETED_RETENTION' | 'COMPLETED_JOBS_KEPT'>>,
  windowSeconds: number,
): JobsOptions {
  return {
    attempts: env.MAX_ATTEMPTS,
    backoff: { type: 'exponential', delay: env.BACKOFF_MS, jitter: 0.5 },
    ...retention(env, windowSeconds),
  };
}
