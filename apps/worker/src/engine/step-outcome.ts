import type { Committed } from './step-commit.ts';
import { PermanentError } from './workflow.ts';

/**
 * What a step's outcome must satisfy before the run goes on: its result storable, its commit
 * applied to the run this attempt started (its marker on enough replicas: fence.ts).
 */

/** The committed step, or null when a newer generation of the event owns the record now. */
export function expectCommitted(c: Exclude<Committed, { kind: 'lock-lost' }>, step: string) {
  if (c.kind === 'superseded') return null;
  if (c.kind === 'unstarted') {
    // Retryable: the step's effect carries its idempotency key, so running it again is safe.
    throw new Error(
      `step "${step}": the event record no longer shows this run as started (lost in a Redis failover?): retrying from START`,
    );
  }
  if (c.kind === 'invalid') {
    throw new PermanentError(`step "${step}": its Redis writes cannot apply, none was made: ${c.reason}`);
  }
  return c;
}

/** The step's result as stored with its marker: JSON, and not larger than the limit. */
export function storable(result: unknown, step: string, maxBytes: number): string {
  const json = JSON.stringify(result ?? null);
  const bytes = Buffer.byteLength(json);
  if (bytes > maxBytes) {
    throw new PermanentError(
      `step "${step}" returned ${bytes} bytes, more than STEP_RESULT_MAX_BYTES (${maxBytes}): return what later steps need, not the payload`,
    );
  }
  return json;
}

export function parseBody(payload: string): unknown {
  try {
    return JSON.parse(payload);
  } catch {
    throw new PermanentError('the event payload is not valid JSON');
  }
}
