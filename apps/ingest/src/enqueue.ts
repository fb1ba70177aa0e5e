import { type BaseEnv, type EventJob, eventJobId, jobName, jobOptions } from '@oncehook/shared';
import type { Queue } from 'bullmq';

export type RetryConfig = Pick<
  BaseEnv,
  'MAX_ATTEMPTS' | 'BACKOFF_MS' | 'FAILED_RETENTION' | 'COMPLETED_RETENTION' | 'COMPLETED_JOBS_KEPT'
>;

/**
 * Adds the event's job. Idempotent: the job id is derived from source + event id and the record's
 * generation, and BullMQ returns the existing job instead of adding a second one while it is kept.
 */
export async function enqueueEvent(
  queue: Queue,
  tag: string,
  job: EventJob,
  retry: RetryConfig,
): Promise<void> {
  await queue.add(jobName(job), job, {
    ...jobOptions(retry, job.windowSeconds),
    jobId: eventJobId(tag, job.receivedAt),
  });
}
