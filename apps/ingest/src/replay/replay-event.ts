import {
  claimReplay,
  type EventJob,
  type EventState,
  eventJobSchema,
  eventTag,
  jobName,
  jobOptions,
  type Keys,
  type Logger,
  type PartitionedQueues,
  type RedisClient,
  readEventStatus,
  SOURCE_NAME,
} from '@oncehook/shared';
import type { Job } from 'bullmq';
import type { RetryConfig } from '../accept.ts';
import { jobStateLookup, payloadJob, type RunJob, runJobs } from './event-jobs.ts';

export interface ReplayDeps {
  redis: RedisClient;
  keys: Keys;
  queues: PartitionedQueues;
  retry: RetryConfig;
  log: Logger;
}

/** What a replay did to one run: the steps it keeps (their markers) and the ones that run again. */
export interface ReplayedRun {
  workflow: string;
  kept: string[];
  rerun: string[];
}

export type ReplayResult =
  | { kind: 'replayed'; source: string; eventId: string; replays: number; workflows: ReplayedRun[] }
  /** Nothing to do: the event completed (or had no workflow). */
  | { kind: 'noop'; source: string; eventId: string; state: 'completed' | 'ignored' }
  | { kind: 'not_found'; source: string; eventId: string }
  /** Still queued, running or retrying: only a run that failed for good is replayed. */
  | { kind: 'not_failed'; source: string; eventId: string; state: EventState }
  /** Another replay of the same event got there first. */
  | { kind: 'raced'; source: string; eventId: string }
  /** No job holds the event's body any more (removed by hand): nothing to run it from. */
  | { kind: 'job_gone'; source: string; eventId: string };

/**
 * Runs a failed event again. Its runs that failed go back to `queued` (one script, checked against
 * the count of replays read here: of two racing replays one wins) and their jobs back to `wait`
 * with a fresh set of attempts; the worker skips every step that has a marker. The same job id is
 * used throughout, so that /status keeps following it.
 */
export async function replayEvent(
  deps: ReplayDeps,
  source: string,
  eventId: string,
  by: string,
): Promise<ReplayResult> {
  const about = { source, eventId };
  if (!SOURCE_NAME.test(source)) return { kind: 'not_found', ...about };
  const tag = eventTag(source, eventId);
  const status = await readEventStatus(deps.redis, deps.keys, tag, jobStateLookup(deps.queues, tag));
  if (!status) return { kind: 'not_found', ...about };
  if (status.state === 'completed' || status.state === 'ignored')
    return { kind: 'noop', ...about, state: status.state };
  if (status.state !== 'failed') return { kind: 'not_failed', ...about, state: status.state };

  const failed = status.workflows.filter((wf) => wf.state === 'failed');
  const runs = failed.map((wf) => wf.name);
  const rec = {
    gen: status.receivedAt,
    partitions: Number(await deps.redis.hget(deps.keys.event(tag), 'q')) || 1,
    workflows: status.workflows.map((wf) => wf.name),
  };
  const targets = runJobs(deps.queues, tag, rec, runs);
  const jobs = await Promise.all(targets.map((t) => t.queue.getJob(t.jobId)));
  const body = jobs.find((j) => j !== undefined) ?? (await payloadJob(deps.queues, tag, rec));
  if (!body) return { kind: 'job_gone', ...about };
  const event = eventJobSchema.parse(body.data);

  const claim = await claimReplay(deps.redis, deps.keys, tag, {
    gen: rec.gen,
    reruns: status.replays,
    runs,
    keepUntil: Date.now() + event.windowSeconds * 1000,
  });
  if (claim.kind === 'gone') return { kind: 'not_found', ...about };
  if (claim.kind === 'completed') return { kind: 'noop', ...about, state: 'completed' };
  if (claim.kind !== 'claimed') return { kind: 'raced', ...about };

  await Promise.all(
    targets.map((target, i) => requeue(deps, target, jobs[i], { ...event, replay: claim.reruns })),
  );
  // Kept: the steps with a marker (a result). A pure step keeps none: it runs again.
  const workflows = failed.map((wf) => ({
    workflow: wf.name,
    kept: wf.steps.filter((s) => 'result' in s).map((s) => s.name),
    rerun: wf.steps.filter((s) => !('result' in s)).map((s) => s.name),
  }));
  deps.log.info({ ...about, by, replays: claim.reruns, workflows }, 'event replayed by an operator');
  return { kind: 'replayed', ...about, replays: claim.reruns, workflows };
}

/**
 * The run's job back to `wait` with its attempts reset, or, if it is gone, a new job under the same
 * id. `replay` in its data tells the worker's metrics that the run is a replay.
 */
async function requeue(
  deps: ReplayDeps,
  target: RunJob,
  job: Job | undefined,
  data: Record<string, unknown> & { windowSeconds: number },
) {
  const withRun = target.name === 'workflow' ? { ...data, workflow: target.workflow } : data;
  if (job) {
    try {
      await job.updateData(withRun);
      const state = await job.getState();
      // `completed` too: a job can end without running its event (it found it superseded, or
      // handed off), and only a job back in the queue runs the replay.
      if (state === 'failed' || state === 'completed') {
        await job.retry(state, { resetAttemptsMade: true });
        return;
      }
      if (state !== 'unknown') {
        // Retried from the dashboard meanwhile: it runs anyway.
        deps.log.info({ jobId: target.jobId, state }, `replay: the job was ${state} already`);
        return;
      }
    } catch (err) {
      if ((await job.getState()) !== 'unknown') throw err;
      deps.log.info({ jobId: target.jobId, err: (err as Error).message }, 'replay: the job went away');
    }
  }
  await target.queue.add(jobName(withRun as EventJob & { workflow?: string }), withRun, {
    ...jobOptions(deps.retry, data.windowSeconds),
    jobId: target.jobId,
  });
}
