import type { WorkerStepContext } from '../services/index.ts';

/**
 * APIs forget idempotency keys after a while: Stripe after at least 24 hours, most mail APIs after
 * a day. A step first attempted longer ago than this (a late retry, a replay of a dead letter)
 * that may have made its effect before it crashed first looks the effect up by its key.
 */
export const LOOKUP_AFTER_MS = 23 * 60 * 60 * 1000;

/** The effect this step made on an earlier attempt, if it is late enough that the key may be gone. */
export async function earlierEffect<T>(
  ctx: WorkerStepContext,
  find: (idempotencyKey: string) => Promise<T | null>,
  now = Date.now(),
): Promise<T | null> {
  if (now - (await ctx.firstAttemptAt()) <= LOOKUP_AFTER_MS) return null;
  return find(ctx.idempotencyKey);
}
