import {
  eventJobId,
  type JobStateLookup,
  type PartitionedQueues,
  QUEUES,
  workflowJobId,
} from '@oncehook/shared';
import type { Job, Queue } from 'bullmq';

/** BullMQ's state of one of the event's jobs, in the partition it was enqueued under. */
export const jobStateLookup =
  (queues: PartitionedQueues, tag: string): JobStateLookup =>
  async (jobId, name, partitions) => {
    const state = await queues.forEvent(tag, partitions)[name].getJobState(jobId);
    return state === 'unknown' ? null : state;
  };

/** Where the job of one run lives: the event's own job (one workflow) or its `workflows` job. */
export interface RunJob {
  /** The workflow, or '' for an event job that failed before its workflow was chosen. */
  workflow: string;
  queue: Queue;
  jobId: string;
  name: 'event' | 'workflow';
}

export function runJobs(
  queues: PartitionedQueues,
  tag: string,
  rec: { gen: number; partitions: number; workflows: string[] },
  runs: string[],
): RunJob[] {
  const pair = queues.forEvent(tag, rec.partitions);
  if (rec.workflows.length <= 1) {
    const workflow = runs[0] ?? '';
    return [{ workflow, queue: pair.events, jobId: eventJobId(tag, rec.gen), name: 'event' }];
  }
  return runs.map((workflow) => ({
    workflow,
    queue: pair.workflows,
    jobId: workflowJobId(tag, rec.gen, workflow),
    name: 'workflow',
  }));
}

/** Any job of the event still holding its payload: the body lives in jobs only. */
export async function payloadJob(
  queues: PartitionedQueues,
  tag: string,
  rec: { gen: number; partitions: number; workflows: string[] },
): Promise<Job | undefined> {
  const pair = queues.forEvent(tag, rec.partitions);
  const own = await pair.events.getJob(eventJobId(tag, rec.gen));
  if (own) return own;
  for (const workflow of rec.workflows) {
    const job = await pair[QUEUES.workflows].getJob(workflowJobId(tag, rec.gen, workflow));
    if (job) return job;
  }
  return undefined;
}
