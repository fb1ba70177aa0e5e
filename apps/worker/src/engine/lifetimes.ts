import { type BaseEnv, failedRetentionSeconds } from '@oncehook/shared';

/**
 * How long an event's hash must live, from what the worker knows at each moment. The rule, in one
 * sentence: an event's record and markers live as long as any job of the event may still run —
 * no expiry at all while a run is in flight — and at least its dedupe window after the event
 * finished (completed, or failed for good — then as long as the dead letter is kept,
 * FAILED_RETENTION). Before a run starts, and after the event finished, an expiry only ever moves
 * later.
 */

/** Time for a job whose worker died to be noticed (lock + stalled check) and picked up again. */
export const STALL_MARGIN_MS = 10_000 + 5_000 + 60_000;

export type LifetimeEnv = Pick<BaseEnv, 'BACKOFF_MS' | 'FAILED_RETENTION'>;

export function keepUntil(
  moment: 'running' | 'retrying' | 'failed' | 'completed',
  {
    env,
    windowSeconds,
    attempt,
    now = Date.now(),
  }: { env: LifetimeEnv; windowSeconds: number; attempt: number; now?: number },
): number {
  const window = windowSeconds * 1000;
  switch (moment) {
    case 'running':
    case 'completed':
      return now + window + (moment === 'running' ? STALL_MARGIN_MS : 0);
    case 'retrying':
      // BullMQ's exponential backoff waits at most BACKOFF_MS * 2^(attempt - 1) before the next.
      return now + Math.max(window, env.BACKOFF_MS * 2 ** (attempt - 1) + STALL_MARGIN_MS);
    case 'failed':
      return now + Math.max(window, failedRetentionSeconds(env, windowSeconds) * 1000);
  }
}

/** On a cluster, a step's commit record must outlive every retry and replay of the event. */
export function commitRecordUntil(env: LifetimeEnv, windowSeconds: number, now = Date.now()): number {
  return keepUntil('failed', { env, windowSeconds, attempt: 1, now }) + windowSeconds * 1000;
}
