import { type BaseEnv, type EventJob, eventJobSchema, eventTag, workflowJobSchema } from '@oncehook/shared';
import { type Queue, UnrecoverableError } from 'bullmq';
import { dispatch, lastAttempt, lost, neverFailed } from './dispatch.ts';
import { deferredUntil, forBullmq, messageOf, waitsForRedis } from './errors.ts';
import { parkRecord } from './event-state.ts';
import { createFence, type Fence } from './fence.ts';
import type { JobRef } from './lane-scripts.ts';
import { seatFor } from './lane-seat.ts';
import { inLane, type LaneDeps, type LaneOutcome } from './lanes.ts';
import type { WorkflowRegistry } from './registry.ts';
import type { EngineDeps, RunOutcome } from './run-workflow.ts';
import type { JobLock } from './step-commit.ts';

export interface ProcessDeps<Services> extends EngineDeps<Services> {
  registry: WorkflowRegistry<Services>;
  /** The `workflows` queue of the partition, for events with several workflows. */
  workflowsQueue: Queue;
  /** The jobs of other events: ordering lanes wake them, and look at their state. */
  jobs: Pick<LaneDeps, 'wake' | 'jobState' | 'jobKey'>;
  /** One per job attempt (tests look through it at what is waited for). */
  createFence?: typeof createFence;
  env: EngineDeps<Services>['env'] &
    Pick<BaseEnv, 'MAX_ATTEMPTS' | 'COMPLETED_RETENTION' | 'COMPLETED_JOBS_KEPT'> & {
      /** How often a parked job wakes to look at its lane (ms). */
      PARKED_RECHECK_MS: number;
    };
}

/** The parts of a BullMQ job the engine needs (so tests can run it without a queue). */
export interface JobAttempt {
  data: unknown;
  /** Where the job lives: its id, queue and partition. */
  ref: JobRef;
  /** Failed attempts so far (BullMQ's `attemptsMade`). */
  attemptsMade: number;
  /** Times a worker has started the job, this time included (BullMQ's `attemptsStarted`). */
  attemptsStarted: number;
  maxAttempts: number;
  /** BullMQ's lock on the job, to check before each effect that this worker still holds it. */
  lock?: JobLock;
  /** Moves the job to `delayed` until then, without using an attempt. */
  defer(untilMs: number): Promise<void>;
}

export type JobOutcome =
  | RunOutcome
  | { outcome: 'dispatched'; workflows: string[] }
  | { outcome: 'ignored' | 'noop' | 'superseded' }
  /** Waiting: in its ordering lane, or for replicas to hold what it wrote. The job is `delayed`. */
  | { outcome: 'parked' | 'deferred' };

/**
 * An `events` job: the event's first stop in the worker. The record decides which workflows run
 * (the first worker to list them wins). None: `ignored`. One: it runs here, in this job. Several:
 * one `workflows` job each, so that independent consumers retry and fail on their own.
 */
export async function processEventJob<Services>(
  deps: ProcessDeps<Services>,
  job: JobAttempt,
): Promise<JobOutcome> {
  const event = parse(eventJobSchema, job.data, 'event');
  const workflows = deps.registry.forEvent(event.source, event.type);
  // An ordered workflow runs in its lane; with several workflows each orders its own job.
  const run = workflows.length === 1 ? workflows[0]?.name : undefined;
  return attempt(deps, job, event, run, (fence) =>
    dispatch(deps, job, event, fence, { workflows: workflows.map((wf) => wf.name) }),
  );
}

/** A `workflows` job: one workflow of an event that has several. */
export async function processWorkflowJob<Services>(
  deps: ProcessDeps<Services>,
  job: JobAttempt,
): Promise<JobOutcome> {
  const data = parse(workflowJobSchema, job.data, 'workflow');
  return attempt(deps, job, data, data.workflow, (fence) =>
    dispatch(deps, job, data, fence, {
      workflows: [],
      run: data.workflow,
      ...(data.workflows ? { allWorkflows: data.workflows } : {}),
    }),
  );
}

/**
 * One attempt of a job: in its ordering lane if its workflow is ordered, and, with ACK_REPLICAS,
 * completing only once what it wrote is on enough replicas (else it waits, `deferred`, as it does
 * when Redis cannot serve it or a step defers its run).
 */
async function attempt<Services>(
  deps: ProcessDeps<Services>,
  job: JobAttempt,
  event: EventJob,
  workflow: string | undefined,
  body: (fence: Fence) => Promise<JobOutcome>,
): Promise<JobOutcome> {
  const fence = (deps.createFence ?? createFence)(deps.redis, deps.env);
  let tag: string;
  try {
    tag = eventTag(event.source, event.eventId);
  } catch (err) {
    throw forBullmq(err);
  }
  const seat = seatFor(workflow ? deps.registry.byName(workflow) : undefined, event, job.ref.id);
  const laneDeps: LaneDeps = {
    ...deps.jobs,
    redis: deps.redis,
    keys: deps.keys,
    log: deps.log,
    fence,
    recheckMs: deps.env.PARKED_RECHECK_MS,
    park: (label) => {
      fence.touch(deps.keys.event(tag));
      return parkRecord(deps.redis, deps.keys, tag, {
        gen: event.receivedAt,
        firstStart: neverFailed(job),
        behind: label,
        run: workflow ?? '',
        type: event.type,
        partitions: job.ref.partition[1],
      });
    },
  };
  try {
    const outcome = await inLane(laneDeps, seat, { ...job, lastAttempt: lastAttempt(job) }, async () => {
      const out = await body(fence);
      await fence.wait('the job');
      return out;
    });
    // What the lane's release and hand-off wrote, too, before the job completes.
    if (seat && outcome.outcome !== 'parked') await fence.wait('the lane it released');
    return laneEnd(deps, event, outcome);
  } catch (err) {
    const until = deferredUntil(err, deps.env.BACKOFF_MS);
    if (until === undefined) throw err;
    if (waitsForRedis(err))
      deps.log.warn(
        { source: event.source, eventId: event.eventId, err: messageOf(err) },
        'waiting for Redis',
      );
    await job.defer(until);
    return { outcome: 'deferred' };
  }
}

function laneEnd<Services>(
  deps: ProcessDeps<Services>,
  event: EventJob,
  outcome: JobOutcome | LaneOutcome,
): JobOutcome {
  if (outcome.outcome !== 'left') return outcome;
  if (outcome.why === 'lost') lost(deps, event);
  return { outcome: outcome.why === 'finished' ? 'noop' : 'superseded' };
}

function parse<T>(
  schema: { safeParse(v: unknown): { success: true; data: T } | { success: false; error: Error } },
  data: unknown,
  what: string,
): T {
  const parsed = schema.safeParse(data);
  if (!parsed.success) throw new UnrecoverableError(`malformed ${what} job: ${parsed.error.message}`);
  return parsed.data;
}
