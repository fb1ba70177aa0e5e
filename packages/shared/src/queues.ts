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

export const JOB_NAMES = {
  event: 'event',
  workflow: 'workflow',
} as const;

/** BullMQ's key prefix. Braced so that every key of a queue shares one Redis Cluster slot. */
export const bullPrefix = (config: Pick<BaseEnv, 'QUEUE_PREFIX'>) => `{${config.QUEUE_PREFIX}}`;

/**
 * Finished jobs are kept for a day so that a job id added again in the meantime is recognised
 * by BullMQ too (the event record is the first line of defence, the job id the second).
 */
export const KEEP_FINISHED: Pick<JobsOptions, 'removeOnComplete' | 'removeOnFail'> = {
  removeOnComplete: { age: 24 * 60 * 60, count: 100_000 },
  removeOnFail: { age: 30 * 24 * 60 * 60 },
};

/** Retries with exponential backoff from BACKOFF_MS; half of each delay is jitter, so a burst of
 * failures (a downstream API that went away) does not come back as a synchronised burst. */
export function retryOptions(config: Pick<BaseEnv, 'MAX_ATTEMPTS' | 'BACKOFF_MS'>): JobsOptions {
  return {
    attempts: config.MAX_ATTEMPTS,
    backoff: { type: 'exponential', delay: config.BACKOFF_MS, jitter: 0.5 },
    ...KEEP_FINISHED,
  };
}
