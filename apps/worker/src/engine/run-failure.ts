import type { Logger } from '@oncehook/shared';
import { DeferredError, forBullmq, isPermanent, LockLostError, messageOf, waitsForRedis } from './errors.ts';
import { failRun } from './event-state.ts';
import { keepUntil } from './lifetimes.ts';
import type { EngineDeps, RunAttempt } from './run-workflow.ts';

/** Stored and shown by /status: an API's error page must not become a megabyte in Redis. */
const MAX_ERROR_CHARS = 1000;

/**
 * A run attempt that threw: recorded on the event (retrying, or failed for good when the error is
 * permanent or this was the last attempt), logged, told to the observer (metrics, the failure
 * alert) — then thrown on, for BullMQ to retry or fail the job. Two kinds of error are not the
 * run's: a lost lock (the worker that took the job over goes on), and Redis unreachable or its
 * writes not yet on the replicas (the job waits, without using an attempt, as it does when a step
 * defers its run).
 */
export async function runFailed<Services>(
  deps: EngineDeps<Services>,
  run: RunAttempt,
  err: unknown,
  { log, ran }: { log: () => Logger; ran: string[] },
): Promise<never> {
  const { event, tag, workflow } = run;
  const window = { env: deps.env, windowSeconds: event.windowSeconds, attempt: run.attempt };
  const record = (state: 'retrying' | 'failed', error: string) =>
    failRun(deps.redis, deps.keys, tag, {
      gen: event.receivedAt,
      workflow: workflow.name,
      state,
      attempt: run.attempt,
      error,
      keepUntil: keepUntil(state, window),
    });
  if (err instanceof LockLostError) {
    log().warn({ ran }, err.message);
    throw err;
  }
  if (err instanceof DeferredError) {
    // Not an attempt: the job waits, its run still in flight (the record has no expiry meanwhile).
    await record('retrying', err.message.slice(0, MAX_ERROR_CHARS));
    throw err;
  }
  if (waitsForRedis(err)) {
    // Unchanged if the run completed: then only its job waits for the replicas.
    await record('retrying', messageOf(err).slice(0, MAX_ERROR_CHARS)).catch(() => {});
    throw err;
  }
  const final = isPermanent(err) || run.attempt >= run.maxAttempts;
  const error = messageOf(err).slice(0, MAX_ERROR_CHARS);
  await record(final ? 'failed' : 'retrying', error).catch((stateErr) =>
    log().warn({ err: messageOf(stateErr) }, 'could not record the run state'),
  );
  if (final)
    log().error({ err: error, attempt: run.attempt, permanent: isPermanent(err) }, 'workflow failed');
  else log().warn({ err: error, attempt: run.attempt, ran }, 'workflow attempt failed; will retry');
  await deps.observer?.runEnded(final ? 'failed' : 'retried', {
    event,
    tag,
    workflow: workflow.name,
    attempt: run.attempt,
    error,
  });
  throw forBullmq(err);
}
