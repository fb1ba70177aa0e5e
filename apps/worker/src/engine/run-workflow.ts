import {
  eventTag,
  type Keys,
  type Logger,
  type RedisClient,
  type WorkflowJob,
  workflowJobSchema,
} from '@oncehook/shared';
import { UnrecoverableError } from 'bullmq';
import { forBullmq, isPermanent, messageOf, SimulatedCrash } from './errors.ts';
import { idempotencyKey } from './idempotency-key.ts';
import type { WorkflowRegistry } from './registry.ts';
import { setRunState } from './run-state.ts';
import { commitStep, firstAttemptAt, loadRun, type RunLocation } from './step-markers.ts';
import { StepWriteBuffer } from './step-writes.ts';
import { PermanentError, type StepContext, type WorkflowEvent } from './workflow.ts';

export interface EngineDeps<Services> {
  redis: RedisClient;
  keys: Keys;
  registry: WorkflowRegistry<Services>;
  services: Services;
  log: Logger;
  /** SIMULATE_CRASH: this step fails after its side effect, before its marker, on a first attempt. */
  simulateCrash?: string | undefined;
}

/** The parts of a BullMQ job the engine needs (so tests can run it without a queue). */
export interface JobAttempt {
  data: unknown;
  /** Failed attempts so far (BullMQ's `attemptsMade`). */
  attemptsMade: number;
  maxAttempts: number;
}

export interface RunOutcome {
  workflow: string;
  /** `noop`: the run had already completed (a job added again, or a second run of it). */
  outcome: 'completed' | 'noop';
  ran: string[];
  skipped: string[];
}

/**
 * One attempt at one workflow run: load every marker in one round trip, skip the marked steps
 * (handing on their stored results), run the rest in order, committing each one's marker (and
 * its own Redis writes) as it succeeds. Throws to let BullMQ retry, or fail at once if permanent.
 */
export async function runWorkflowJob<Services>(
  deps: EngineDeps<Services>,
  job: JobAttempt,
): Promise<RunOutcome> {
  const parsed = workflowJobSchema.safeParse(job.data);
  if (!parsed.success) throw new UnrecoverableError(`malformed workflow job: ${parsed.error.message}`);
  const data = parsed.data;
  const workflow = deps.registry.byName(data.workflow);
  const tag = eventTag(data.source, data.eventId);
  const log = deps.log.child({ source: data.source, eventId: data.eventId, workflow: data.workflow });
  const at: RunLocation = { keys: deps.keys, tag, workflow: data.workflow, expiresAt: data.expiresAt };
  const attempt = job.attemptsMade + 1;
  const steps = workflow?.steps.map((s) => s.name) ?? [];
  const state = (update: Omit<Parameters<typeof setRunState>[3], 'steps' | 'attempts'>) =>
    setRunState(
      deps.redis,
      deps.keys,
      { ...at, workflows: data.workflows },
      { ...update, steps, attempts: attempt },
    );

  const loaded = await loadRun(deps.redis, at);
  if (loaded.state === 'completed') {
    log.debug('workflow run already completed: nothing to do');
    return { workflow: data.workflow, outcome: 'noop', ran: [], skipped: steps };
  }

  const ran: string[] = [];
  const skipped: string[] = [];
  try {
    if (!workflow) throw new PermanentError(`no workflow named "${data.workflow}" in this worker`);
    await state({ state: 'processing' });
    const event = toEvent(data);
    const results: Record<string, unknown> = {};
    for (const step of workflow.steps) {
      if (loaded.markers.has(step.name)) {
        results[step.name] = loaded.markers.get(step.name);
        skipped.push(step.name);
        continue;
      }
      const writes = new StepWriteBuffer();
      const ctx: StepContext<Services, Record<string, unknown>> = {
        workflow: workflow.name,
        step: step.name,
        idempotencyKey: idempotencyKey(data.source, data.eventId, workflow.name, step.name),
        attempt,
        results: { ...results },
        writes,
        services: deps.services,
        log: log.child({ step: step.name }),
        firstAttemptAt: () => firstAttemptAt(deps.redis, at, step.name),
      };
      const result = await step.run(event, ctx);
      if (deps.simulateCrash === step.name && job.attemptsMade === 0) {
        log.warn({ step: step.name, result }, `SIMULATE_CRASH=${step.name}: crashing before the marker`);
        throw new SimulatedCrash(step.name);
      }
      const committed = await commitStep(deps.redis, at, step.name, result, writes);
      if (!committed.fresh) log.info({ step: step.name }, 'another run committed this step first');
      results[step.name] = committed.result;
      ran.push(step.name);
    }
    await state({ state: 'completed' });
    log.info({ ran, skipped, attempt }, 'workflow completed');
    return { workflow: workflow.name, outcome: 'completed', ran, skipped };
  } catch (err) {
    const final = isPermanent(err) || attempt >= job.maxAttempts;
    const error = messageOf(err);
    await state({ state: final ? 'failed' : 'retrying', error }).catch((stateErr) =>
      log.warn({ err: messageOf(stateErr) }, 'could not record the run state'),
    );
    if (final) log.error({ err: error, attempt, permanent: isPermanent(err) }, 'workflow failed');
    else log.warn({ err: error, attempt, ran }, 'workflow attempt failed; will retry');
    throw forBullmq(err);
  }
}

function toEvent(data: WorkflowJob): WorkflowEvent {
  let body: unknown;
  try {
    body = JSON.parse(data.payload);
  } catch {
    throw new PermanentError('the event payload is not valid JSON');
  }
  return {
    source: data.source,
    eventId: data.eventId,
    type: data.type,
    payload: data.payload,
    body,
    receivedAt: data.receivedAt,
  };
}
