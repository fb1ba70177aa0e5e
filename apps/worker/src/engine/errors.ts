import { InvalidSourceError } from '@oncehook/shared';
import { UnrecoverableError } from 'bullmq';
import { PermanentError } from './workflow.ts';

/** This worker lost the job's lock (a pause longer than the lock): another has the job now. */
export class LockLostError extends Error {
  override name = 'LockLostError';
  constructor(workflow: string) {
    super(
      `lost the job's lock during workflow "${workflow}": stopping, the worker that took it over goes on`,
    );
  }
}

/** What a job wrote is not on ACK_REPLICAS replicas in time (fence.ts). */
export class NotReplicatedError extends Error {
  override name = 'NotReplicatedError';
}

/**
 * Thrown by a step whose run is not over but must wait: its job goes back to `delayed` until
 * `until`, without using an attempt (a destination's own retry schedule, a limit). The run shows
 * `retrying` with the message.
 */
export class DeferredError extends Error {
  override name = 'DeferredError';
  constructor(
    message: string,
    readonly until: number,
  ) {
    super(message);
  }
}

// Redis answering that it cannot serve now: a cluster slot's master down or failing over, a
// replica promoted but not ready, a connection lost under a command.
const UNAVAILABLE =
  /CLUSTERDOWN|TRYAGAIN|LOADING|MASTERDOWN|READONLY|Too many Cluster redirections|Connection is closed|MaxRetriesPerRequest/;

/**
 * Not the run's fault, and not its end: Redis (the part of it the job needs) cannot be reached, or
 * does not hold its writes on enough replicas yet. The job waits and is tried again later, without
 * using up an attempt — an outage of the store never turns events into dead letters.
 */
export const waitsForRedis = (err: unknown) =>
  err instanceof NotReplicatedError ||
  (err instanceof Error && UNAVAILABLE.test(`${err.name} ${err.message}`));

/** When a job whose attempt threw waits to run again, without using an attempt; undefined: it does not. */
export function deferredUntil(err: unknown, backoffMs: number): number | undefined {
  if (err instanceof DeferredError) return Math.ceil(err.until);
  return waitsForRedis(err) ? Date.now() + Math.max(backoffMs, 1000) : undefined;
}

/** Retrying cannot help: the job fails at once instead of using up its attempts. */
export function isPermanent(err: unknown): boolean {
  return (
    err instanceof PermanentError ||
    err instanceof UnrecoverableError ||
    err instanceof InvalidSourceError ||
    (err instanceof Error && (err.name === 'UnrecoverableError' || err.name === 'PermanentError'))
  );
}

/** What BullMQ must see to skip the remaining attempts. */
export function forBullmq(err: unknown): unknown {
  if (isPermanent(err) && !(err instanceof UnrecoverableError)) {
    return new UnrecoverableError((err as Error).message);
  }
  return err;
}

/** An error's message, and its cause's where the message alone does not say (`fetch failed`). */
export function messageOf(err: unknown): string {
  if (!(err instanceof Error)) return String(err);
  const cause =
    err.cause instanceof Error ? messageOf(err.cause) || (err.cause as { code?: string }).code : '';
  return cause && !err.message.includes(cause) ? `${err.message}: ${cause}` : err.message;
}
