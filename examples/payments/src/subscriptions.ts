import type { RedisClient } from '@oncehook/worker';
import type { DemoKeys } from './keys.ts';

/**
 * The subscription mirror, written by the worker's `subscription-mirror` workflow (one hash per
 * subscription, keys.ts) and read by GET /demo/subscriptions/:id.
 */
export interface DemoSubscription {
  id: string;
  status: string;
  /** Unix seconds, or null. */
  current_period_end: number | null;
  cancel_at: number | null;
  /** The provider time (ms) of the newest event applied. */
  version: number;
  /** The event that version came from. */
  event: string;
  /** Events of this subscription the workflow has counted, stale ones included. */
  seen: number;
}

/** The hash's fields, as the workflow writes them. */
export const SUBSCRIPTION_FIELDS = {
  status: 'status',
  periodEnd: 'current_period_end',
  cancelAt: 'cancel_at',
  version: 'v',
  event: 'event',
  seen: 'seen',
} as const;

export async function readDemoSubscription(
  redis: RedisClient,
  keys: DemoKeys,
  id: string,
): Promise<DemoSubscription | null> {
  const f = SUBSCRIPTION_FIELDS;
  const [status, periodEnd, cancelAt, version, event, seen] = await redis.hmget(
    keys.demoSubscription(id),
    f.status,
    f.periodEnd,
    f.cancelAt,
    f.version,
    f.event,
    f.seen,
  );
  if (status == null) return null;
  const seconds = (v: string | null | undefined) => (v ? Number(v) : null);
  return {
    id,
    status,
    current_period_end: seconds(periodEnd),
    cancel_at: seconds(cancelAt),
    version: Number(version),
    event: event ?? '',
    seen: Number(seen ?? 0),
  };
}
