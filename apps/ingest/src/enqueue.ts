import { type EventJob, JOB_NAMES, retryOptions } from '@oncehook/shared';
import type { Queue } from 'bullmq';

export type RetryConfig = Parameters<typeof retryOptions>[0];

/**
 * Adds the event's job. Idempotent: the job id is derived from source + event id, and BullMQ
 * returns the existing job instead of adding a second one while it is kept.
 */
export async function enqueueEvent(
  queue: Queue,
  tag: string,
  job: EventJob,
  retry: RetryConfig,
): Promise<void> {
  await queue.add(JOB_NAMES.event, job, { ...retryOptions(retry), jobId: tag });
}
