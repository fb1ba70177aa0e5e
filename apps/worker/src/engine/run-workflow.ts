import type { BaseEnv, EventJob, Keys, Logger, RedisClient } from '@oncehook/shared';
import { LockLostError } from './errors.ts';
import type { Fence } from './fence.ts';
import { idempotencyKey } from './idempotency-key.ts';
import { commitRecordUntil, keepUntil, type LifetimeEnv } from './lifetimes.ts';
import { runFailed } from './run-failure.ts';
import { commitStep, type JobLock } from './step-commit.ts';
import { expectCommitted, parseBody, storable } from './step-outcome.ts';
import { StepWriteBuffer } from './step-writes.ts';
import type { StepContext, WorkflowDefinition, WorkflowEvent } from './workflow.ts';

export interface EngineDeps<Services> {
  redis: RedisClient;
  keys: Keys;
  services: Services;
  log: Logger;
  env: LifetimeEnv & { STEP_RESULT_MAX_BYTES: number } & Partial<
      Pick<BaseEnv, 'ACK_REPLICAS' | 'ACK_REPLICA_TIMEOUT_MS'>
    >;
  /** Metrics and the failure alert (workers.ts wires them): told how each step and run went. */
  observer?: RunObserver | undefined;
}

/** How a run attempt ended: done, failed and retried by BullMQ, or failed for good. */
export type RunEnd = 'completed' | 'retried' | 'failed';

export interface RunObserver {
  stepDone(workflow: string, step: string, seconds: number): void;
  /**
   * Awaited before the job is answered: for a run that failed for good, what it does (the alert)
   * happens before BullMQ fails the job, so a worker that dies first leaves the job to be re-run.
   */
  runEnded(
    end: RunEnd,
    run: { event: EventJob; tag: string; workflow: string; attempt: number; error?: string },
  ): Promise<void>;
}

/** One attempt at one workflow run, as the job processor found it. */
export interface RunAttempt {
  event: EventJob;
  tag: string;
  workflow: WorkflowDefinition<unknown>;
  /** 1 on the job's first attempt. */
  attempt: number;
  maxAttempts: number;
  /** Step name -> stored result, for every step with a marker (loaded when the run started). */
  markers: Map<string, unknown>;
  /** When the first step to run was first attempted (recorded when the run started). */
  startedAt: number | null;
  /** The job's lock: a worker that lost it (a zombie) commits nothing, and stops. */
  lock?: JobLock;
  /** With ACK_REPLICAS: each step's commit is on replicas before the next effect. */
  fence: Fence;
}

export interface RunOutcome {
  workflow: string;
  outcome: 'completed' | 'superseded';
  ran: string[];
  skipped: string[];
}

/**
 * Runs the steps without a marker, in order, handing each the results before it (fresh, or from
 * their markers). Each step's marker — with its own Redis writes — commits in one script, which
 * in the same round trip reports whether the next step was committed meanwhile (by a run that
 * took this job over) and when it was first attempted; the last commit completes the run.
 * Before each effect after the first, the worker checks that it still holds the job's lock.
 * Throws to let BullMQ retry, or fail at once if the error is permanent.
 */
export async function runWorkflow<Services>(
  deps: EngineDeps<Services>,
  run: RunAttempt,
): Promise<RunOutcome> {
  const { event, tag, workflow } = run;
  // A pino child serialises its fields when it is made: only made when something is logged.
  let runLog: Logger | undefined;
  const log = () => {
    runLog ??= deps.log.child({ source: event.source, eventId: event.eventId, workflow: workflow.name });
    return runLog;
  };
  const window = { env: deps.env, windowSeconds: event.windowSeconds, attempt: run.attempt };
  const ran: string[] = [];
  const skipped: string[] = [];
  try {
    const view = eventView(event, parseBody(event.payload));
    const results: Record<string, unknown> = {};
    const markers = new Map(run.markers);
    let startedAt = run.startedAt;
    const steps = workflow.steps;
    for (const [i, step] of steps.entries()) {
      if (markers.has(step.name)) {
        results[step.name] = markers.get(step.name);
        skipped.push(step.name);
        continue;
      }
      const writes = new StepWriteBuffer();
      const began = performance.now();
      const firstAttemptAt = startedAt ?? Date.now();
      let stepLog: Logger | undefined;
      const ctx: StepContext<Services, Record<string, unknown>> = {
        workflow: workflow.name,
        step: step.name,
        idempotencyKey: idempotencyKey(event.source, event.eventId, workflow.name, step.name),
        attempt: run.attempt,
        results: { ...results },
        writes,
        services: deps.services,
        get log() {
          stepLog ??= log().child({ step: step.name });
          return stepLog;
        },
        firstAttemptAt: async () => firstAttemptAt,
      };
      const result = await (step.run as (e: WorkflowEvent, c: typeof ctx) => unknown)(view, ctx);
      if (step.pure && writes.ops.length === 0) {
        results[step.name] = result;
        ran.push(step.name);
        deps.observer?.stepDone(workflow.name, step.name, (performance.now() - began) / 1000);
        continue;
      }
      const resultJson = storable(result, step.name, deps.env.STEP_RESULT_MAX_BYTES);
      const next = steps.slice(i + 1).find((s) => !s.pure)?.name;
      const committed = await commitStep(deps.redis, deps.keys, tag, {
        gen: event.receivedAt,
        workflow: workflow.name,
        step: step.name,
        resultJson,
        ...(next
          ? { nextStep: next }
          : { finish: { completed: keepUntil('completed', window), failed: keepUntil('failed', window) } }),
        writes: writes.batch(step.name),
        commitRecordUntil: commitRecordUntil(deps.env, event.windowSeconds),
        ...(run.lock ? { lock: run.lock } : {}),
      });
      if (committed.kind === 'lock-lost') throw new LockLostError(workflow.name);
      const ok = expectCommitted(committed, step.name);
      if (!ok) return { workflow: workflow.name, outcome: 'superseded', ran, skipped };
      if (!ok.fresh) log().info({ step: step.name }, 'another run committed this step first');
      results[step.name] = ok.result;
      ran.push(step.name);
      deps.observer?.stepDone(workflow.name, step.name, (performance.now() - began) / 1000);
      if (next && ok.nextMarker !== undefined) markers.set(next, ok.nextMarker);
      startedAt = ok.nextStartedAt;
      // The last commit too: its job completes next, and a completion the promoted replica never
      // saw is re-sent to it by the client (the job then reads completed while its steps do not).
      run.fence.touch(...ok.wrote);
      await run.fence.wait(`step "${step.name}"`);
    }
    if (deps.log.isLevelEnabled('info'))
      log().info({ ran, skipped, attempt: run.attempt }, 'workflow completed');
    await deps.observer?.runEnded('completed', { event, tag, workflow: workflow.name, attempt: run.attempt });
    return { workflow: workflow.name, outcome: 'completed', ran, skipped };
  } catch (err) {
    return runFailed(deps, run, err, { log, ran });
  }
}

/** What a step sees of the event's job. */
export function eventView(e: EventJob, body: unknown): WorkflowEvent {
  const { source, eventId, type, payload, receivedAt } = e;
  return {
    source,
    eventId,
    type,
    payload,
    body,
    receivedAt,
    contentType: e.contentType ?? 'application/json',
    // Made when asked for: few steps need the bytes.
    get rawBody() {
      return e.rawBody ? Buffer.from(e.rawBody, 'base64') : Buffer.from(payload);
    },
  };
}
