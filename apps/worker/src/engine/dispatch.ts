import { type EventJob, eventTag, jobName, jobOptions, workflowJobId } from '@oncehook/shared';
import { UnrecoverableError } from 'bullmq';
import { forBullmq, isPermanent, messageOf, waitsForRedis } from './errors.ts';
import { type Started, startRun } from './event-start.ts';
import { failRun } from './event-state.ts';
import type { Fence } from './fence.ts';
import { seatFor } from './lane-seat.ts';
import { leaveOld } from './lanes.ts';
import { keepUntil } from './lifetimes.ts';
import type { JobAttempt, JobOutcome, ProcessDeps } from './process-job.ts';
import { runWorkflow } from './run-workflow.ts';

/**
 * What a job does once it may run (its lane held, if it has one): START on the event's record
 * decides — run a workflow here, fan several out to their own jobs, or nothing — and this carries
 * it out.
 */
export async function dispatch<Services>(
  deps: ProcessDeps<Services>,
  job: JobAttempt,
  event: EventJob,
  fence: Fence,
  which: { workflows: string[]; run?: string; allWorkflows?: string[] },
): Promise<JobOutcome> {
  const tag = eventTag(event.source, event.eventId);
  const started = await start(deps, job, event, which);
  fence.touch(deps.keys.event(tag));
  if (started.kind === 'run' && started.parkedBehind) await leaveLaneOf(deps, job, event, fence, started);
  if (started.kind === 'fanout') return fanOut(deps, job, event, fence, started.workflows);
  if (started.kind === 'ignored')
    deps.log.info({ source: event.source, eventId: event.eventId, type: event.type }, 'no workflow: ignored');
  switch (started.kind) {
    case 'lost':
      return lost(deps, event);
    case 'superseded':
      deps.log.warn(
        { source: event.source, eventId: event.eventId },
        'a newer delivery of this event owns its record now: this old job does nothing',
      );
      return { outcome: 'superseded' };
    case 'finished':
    case 'ignored':
      return { outcome: started.kind === 'ignored' ? 'ignored' : 'noop' };
    case 'run':
      return runStarted(deps, job, event, fence, started);
  }
}

/** Several workflows: one `workflows` job each, in the event's partition. */
async function fanOut<Services>(
  deps: ProcessDeps<Services>,
  job: JobAttempt,
  event: EventJob,
  fence: Fence,
  workflows: string[],
): Promise<JobOutcome> {
  const tag = eventTag(event.source, event.eventId);
  const jobs = workflows.map((workflow) => ({
    name: jobName({ ...event, workflow }),
    data: { ...event, workflow, workflows },
    opts: {
      ...jobOptions(deps.env, event.windowSeconds),
      jobId: workflowJobId(tag, event.receivedAt, workflow),
    },
  }));
  try {
    await deps.workflowsQueue.addBulk(jobs);
  } catch (err) {
    // The event's runs cannot start without their jobs: on the last attempt they fail with it, so
    // that the event reads failed (a dead letter to replay), not queued for good.
    if (!waitsForRedis(err) && (lastAttempt(job) || isPermanent(err))) {
      const error = `could not hand the event to its workflows: ${messageOf(err)}`.slice(0, 1000);
      for (const workflow of workflows)
        await failRun(deps.redis, deps.keys, tag, {
          gen: event.receivedAt,
          workflow,
          state: 'failed',
          attempt: job.attemptsMade + 1,
          error,
          keepUntil: keepUntil('failed', { env: deps.env, windowSeconds: event.windowSeconds, attempt: 1 }),
        });
    }
    throw forBullmq(err);
  }
  fence.touch(...jobs.map((j) => deps.workflowsQueue.toKey(j.opts.jobId)));
  deps.log.debug({ source: event.source, eventId: event.eventId, workflows }, 'dispatched');
  return { outcome: 'dispatched', workflows };
}

async function runStarted<Services>(
  deps: ProcessDeps<Services>,
  job: JobAttempt,
  event: EventJob,
  fence: Fence,
  started: Extract<Started, { kind: 'run' }>,
): Promise<JobOutcome> {
  const tag = eventTag(event.source, event.eventId);
  const workflow = deps.registry.byName(started.workflow);
  if (!workflow) {
    const error = `no workflow named "${started.workflow}" in this worker`;
    await failRun(deps.redis, deps.keys, tag, {
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
    tag,
    workflow: workflow as never,
    attempt: job.attemptsMade + 1,
    maxAttempts: job.maxAttempts,
    markers: started.markers,
    startedAt: started.nextStartedAt,
    fence,
    ...(job.lock ? { lock: job.lock } : {}),
  });
}

/**
 * The event was parked in a lane it no longer runs in (a deploy made its workflow unordered, or
 * changed its key): it leaves that lane, so that the events behind it go on.
 */
async function leaveLaneOf<Services>(
  deps: ProcessDeps<Services>,
  job: JobAttempt,
  event: EventJob,
  fence: Fence,
  started: { workflow: string; parkedBehind: string | null },
) {
  const seat = seatFor(deps.registry.byName(started.workflow), event, job.ref.id);
  if (!started.parkedBehind || seat?.label === started.parkedBehind) return;
  const member = `${String(event.receivedAt).padStart(15, '0')} ${job.ref.id}`;
  await leaveOld(
    { ...deps.jobs, redis: deps.redis, keys: deps.keys, log: deps.log, fence },
    {
      source: event.source,
      lane: seat?.lane ?? '',
      member,
    },
    started.parkedBehind,
  );
}

export function lost<Services>(deps: ProcessDeps<Services>, event: EventJob): never {
  deps.log.error(
    { source: event.source, eventId: event.eventId },
    'the event record is gone and this job ran before: refusing to repeat its steps',
  );
  throw new UnrecoverableError(
    'the event record expired or was deleted after this job first ran: its markers are gone, so its steps are not run again',
  );
}

async function start<Services>(
  deps: ProcessDeps<Services>,
  job: JobAttempt,
  event: EventJob,
  which: { workflows: string[]; run?: string; allWorkflows?: string[] },
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
      firstStart: neverFailed(job),
      keepUntil: keepUntil('running', { env: deps.env, windowSeconds: event.windowSeconds, attempt }),
      workflows: which.workflows,
      stepsOf,
      pureOf,
      ...(which.run ? { run: which.run } : {}),
      ...(which.allWorkflows ? { allWorkflows: which.allWorkflows } : {}),
      attempt,
      type: event.type,
      partitions: job.ref.partition[1],
    });
  } catch (err) {
    throw forBullmq(err);
  }
}

export const lastAttempt = (job: JobAttempt) => job.attemptsMade + 1 >= job.maxAttempts;

/**
 * A job that never failed an attempt may recreate its event's record if it is gone: a record has
 * no expiry once a run of it started (event-start.ts), so a record gone under such a job expired
 * before any run of it got through its start — however often its worker was stopped, or it waited
 * for Redis. One that failed an attempt had started: its markers went with the record, and its
 * steps must not run again.
 */
export const neverFailed = (job: JobAttempt) => job.attemptsMade === 0;
