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

export const messageOf = (err: unknown) => (err instanceof Error ? err.message : String(err));
