import { jobName, jobOptions, type PartitionedQueues } from '@oncehook/shared';
import type { JobRef } from './engine/lane-scripts.ts';
import type { ProcessDeps } from './engine/process-job.ts';
import type { WorkerDeps } from './workers.ts';

/**
 * The jobs of other events, as ordering lanes need them (engine/lanes.ts): a parked job is woken
 * (promoted from `delayed`), or added again under its own id if it was removed (its data is kept
 * in the lane); a holder's job is looked up to tell whether it will ever release its lane.
 */
export function laneJobs(
  queues: PartitionedQueues,
  config: WorkerDeps<unknown>['config'],
): ProcessDeps<unknown>['jobs'] {
  const queueOf = (ref: JobRef) => queues.pair(ref.partition[0], ref.partition[1])[ref.queue];
  return {
    async wake(ref, data) {
      const queue = queueOf(ref);
      const job = await queue.getJob(ref.id);
      if (!job) {
        if (!data) return 'finished';
        const job = data as Parameters<typeof jobName>[0] & { windowSeconds: number };
        await queue.add(jobName(job), data, { ...jobOptions(config, job.windowSeconds), jobId: ref.id });
        return 'added';
      }
      try {
        await job.promote();
        return 'woken';
      } catch {
        const state = await job.getState();
        return state === 'completed' || state === 'failed' ? 'finished' : 'running';
      }
    },
    async jobState(ref) {
      const state = await queueOf(ref).getJobState(ref.id);
      return state === 'unknown' ? null : state;
    },
    jobKey: (ref) => queueOf(ref).toKey(ref.id),
  };
}
