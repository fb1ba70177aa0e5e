import { isPending, type Keys, type RedisClient } from '@oncehook/shared';

/**
 * The dedupe record, written with plain commands in MULTI (no scripts), so that it works on any
 * Redis the queue works on and fails the same way.
 */

export interface FirstDelivery {
  source: string;
  eventId: string;
  type: string;
  payload: string;
  bodyHash: string;
  receivedAt: number;
}

export interface OpenedRecord {
  /** The record as stored: the first delivery's fields win over this one's. */
  record: Record<string, string>;
  /** Not enqueued yet (new, or an earlier attempt died or was refused before the job existed). */
  pending: boolean;
  conflict: boolean;
}

type ExecResult = [error: Error | null, result: unknown][] | null;

function unwrap(results: ExecResult): unknown[] {
  if (!results) throw new Error('Redis transaction aborted');
  return results.map(([err, value]) => {
    if (err) throw err;
    return value;
  });
}

/** SET-NX-style: creates the record if absent (first body wins), and returns it as stored. */
export async function openRecord(
  redis: RedisClient,
  keys: Keys,
  tag: string,
  delivery: FirstDelivery,
  ttlSeconds: number,
): Promise<OpenedRecord> {
  const key = keys.event(tag);
  const fields: Record<string, string> = {
    source: delivery.source,
    eventId: delivery.eventId,
    type: delivery.type,
    payload: delivery.payload,
    bodyHash: delivery.bodyHash,
    receivedAt: String(delivery.receivedAt),
    expiresAt: String(delivery.receivedAt + ttlSeconds * 1000),
  };
  const tx = redis.multi();
  for (const [field, value] of Object.entries(fields)) tx.hsetnx(key, field, value);
  // NX: the window starts at the first delivery; re-deliveries do not extend it.
  tx.expire(key, ttlSeconds, 'NX');
  tx.hgetall(key);
  const results = unwrap(await tx.exec());
  const record = results.at(-1) as Record<string, string>;
  return { record, pending: isPending(record), conflict: record.bodyHash !== delivery.bodyHash };
}

/**
 * Counts an accepted delivery, and marks the record enqueued if this delivery enqueued it.
 * Called only once the job exists, so a delivery answered 503 is never counted.
 */
export async function countDelivery(
  redis: RedisClient,
  keys: Keys,
  tag: string,
  { conflict, enqueued }: { conflict: boolean; enqueued: boolean },
): Promise<number> {
  const key = keys.event(tag);
  const tx = redis.multi().hincrby(key, 'deliveries', 1);
  if (conflict) tx.hincrby(key, 'conflicts', 1);
  if (enqueued) tx.hsetnx(key, 'enqueuedAt', String(Date.now()));
  const [deliveries] = unwrap(await tx.exec());
  return Number(deliveries);
}
