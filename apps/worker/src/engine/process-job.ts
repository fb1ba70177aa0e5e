import {
  type BaseEnv,
  type EventJob,
  eventJobId,
  eventJobSchema,
  eventTag,
  JOB_NAMES,
  jobOptions,
  workflowJobId,
  workflowJobSchema,
} from '@oncehook/shared';
import { type Queue, UnrecoverableError } from 'bullmq';
import { forBullmq } from './errors.ts';
import { failRun, markWaiting, type Started, startRun } from './event-state.ts';
import { inLane, type LaneDeps, type LaneOutcome, seatFor } from './lanes.ts';
import { keepUntil } from './lifetimes.ts';
import type { WorkflowRegistry } from './registry.ts';
import { type EngineDeps, type RunOutcome, runWorkflow } from './run-workflow.ts';
import type { JobLock } from './step-commit.ts';

export interface ProcessDeps<Services> extends EngineDeps<Services> {
  registry: WorkflowRegistry<Services>;
  /** The `workflows` queue, for events with several workflows. */
  workflowsQueue: Queue;
  /** Ordering lanes: how a job handed a lane is added again. */
  lanes: Pick<LaneDeps, 'handOff'>;
  env: EngineDeps<Services>['env'] &
    Pick<BaseEnv, 'MAX_ATTEMPTS' | 'COMPLETED_RETENTION' | 'COMPLETED_JOBS_KEPT'>;
}

/** The parts of a BullMQ job the engine needs (so tests can run it without a queue). */
export interface JobAttempt {
  data: unknown;
  /** BullMQ's job id (default: the id the ingest or the fan-out gives the job). */
  id?: string;
  /** Failed attempts so far (BullMQ's `attemptsMade`). */
  attemptsMade: number;
  /** Times a worker has started the job, this time included (BullMQ's `attemptsStarted`). */
  attemptsStarted: number;
  maxAttempts: number;
  /** BullMQ's lock on the job, to check before each effect that this worker still holds it. */
  lock?: JobLock;
}

export type JobOutcome =
  | RunOutcome
  | { outcome: 'dispatched'; workflows: string[] }
  | { outcome: 'ignored' | 'noop' | 'superseded' }
  | LaneOutcome;

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
  const baseId = () => eventJobId(eventTag(event.source, event.eventId), event.receivedAt);
  const seat = workflows.length === 1 ? seatFor(workflows[0], event, jobIds(job, baseId)) : null;
  return inLane(laneDeps(deps, event), seat, lastAttempt(job), () =>
    runEventJob(deps, job, event, workflows),
  );
}

async function runEventJob<Services>(
  deps: ProcessDeps<Services>,
  job: JobAttempt,
  event: EventJob,
  workflows: readonly { name: string }[],
): Promise<JobOutcome> {
  const names = workflows.map((wf) => wf.name);
  const started = await start(deps, job, event, { workflows: names });
  if (started.kind === 'fanout') {
    const tag = eventTag(event.source, event.eventId);
    await deps.workflowsQueue.addBulk(
      started.workflows.map((workflow) => ({
        name: JOB_NAMES.workflow,
        data: { ...event, workflow },
        opts: {
          ...jobOptions(deps.env, event.windowSeconds),
          jobId: workflowJobId(tag, event.receivedAt, workflow),
        },
      })),
    );
    deps.log.debug(
      { source: event.source, eventId: event.eventId, workflows: started.workflows },
      'dispatched',
    );
    return { outcome: 'dispatched', workflows: started.workflows };
  }
  if (started.kind === 'ignored') {
    deps.log.info({ source: event.source, eventId: event.eventId, type: event.type }, 'no workflow: ignored');
  }
  return finishOrRun(deps, job, event, started);
}

/** A `workflows` job: one workflow of an event that has several. */
export async function processWorkflowJob<Services>(
  deps: ProcessDeps<Services>,
  job: JobAttempt,
): Promise<JobOutcome> {
  const data = parse(workflowJobSchema, job.data, 'workflow');
  const baseId = () => workflowJobId(eventTag(data.source, data.eventId), data.receivedAt, data.workflow);
  const seat = seatFor(deps.registry.byName(data.workflow), data, jobIds(job, baseId));
  return inLane(laneDeps(deps, data), seat, lastAttempt(job), async () => {
    const started = await start(deps, job, data, { workflows: [], run: data.workflow });
    return finishOrRun(deps, job, data, started);
  });
}

const jobIds = (job: JobAttempt, baseId: () => string) => ({ id: job.id, baseId, data: job.data });
const lastAttempt = (job: JobAttempt) => job.attemptsMade + 1 >= job.maxAttempts;
const laneDeps = <S>(deps: ProcessDeps<S>, event: EventJob): LaneDeps => ({
  redis: deps.redis,
  keys: deps.keys,
  log: deps.log,
  handOff: deps.lanes.handOff,
  parked: (seat) =>
    markWaiting(deps.redis, deps.keys, eventTag(event.source, event.eventId), {
      gen: event.receivedAt,
      behind: seat.label,
    }),
});

async function start<Services>(
  deps: ProcessDeps<Services>,
  job: JobAttempt,
  event: EventJob,
  which: { workflows: string[]; run?: string },
): Promise<Started> {
  const attempt = job.attemptsMade + 1;
  const stepsOf: Record<string, string[]> = {};
  const pureOf: Record<string, string[]> = {};
  for (const name of which.run ? [which.run] : which.workflows) {
    const wf = deps.registry.byName(name);
    if (!wf) continue;
    stepsOf[name] = wf.steps.map((s) => s.name);
    pureOf[name] = wf.steps.filter((s) => s.pure).map((s) => s.name);
  }
  try {
    return await startRun(deps.redis, deps.keys, eventTag(event.source, event.eventId), {
      gen: event.receivedAt,
      firstStart: job.attemptsStarted <= 1,
      keepUntil: keepUntil('running', { env: deps.env, windowSeconds: event.windowSeconds, attempt }),
      workflows: which.workflows,
      stepsOf,
      pureOf,
      ...(which.run ? { run: which.run } : {}),
      attempt,
      type: event.type,
    });
  } catch (err) {
    throw forBullmq(err);
  }
}

async function finishOrRun<Services>(
  deps: ProcessDeps<Services>,
  job: JobAttempt,
  event: EventJob,
  started: Started,
): Promise<JobOutcome> {
  const about = { source: event.source, eventId: event.eventId };
  switch (started.kind) {
    case 'lost':
      deps.log.error(about, 'the event record is gone and this job ran before: refusing to repeat its steps');
      throw new UnrecoverableError(
        'the event record expired or was deleted after this job first ran: its markers are gone, so its steps are not run again',
      );
    case 'superseded':
      deps.log.warn(about, 'a newer delivery of this event owns its record now: this old job does nothing');
      return { outcome: 'superseded' };
    case 'finished':
    case 'ignored':
      return { outcome: started.kind === 'ignored' ? 'ignored' : 'noop' };
    case 'fanout':
      throw new Error('a workflows job cannot fan out');
    case 'run': {
      const workflow = deps.registry.byName(started.workflow);
      if (!workflow) {
        const error = `no workflow named "${started.workflow}" in this worker`;
        await failRun(deps.redis, deps.keys, eventTag(event.source, event.eventId), {
          gen: event.receivedAt,
          workflow: started.workflow,
          state: 'failed',
          attempt: job.attemptsMade + 1,
          error,
          keepUntil: keepUntil('failed', { env: deps.env, windowSeconds: event.windowSeconds, attempt: 1 }),
        });
        throw new UnrecoverableError(error);
      }
      return runWorkflow(deps, {
        event,
        tag: eventTag(event.source, event.eventId),
        workflow: workflow as never,
        attempt: job.attemptsMade + 1,
        maxAttempts: job.maxAttempts,
        markers: started.markers,
        startedAt: started.nextStartedAt,
        ...(job.lock ? { lock: job.lock } : {}),
      });
    }
  }
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
