import { isPending } from './event-status.ts';
import type { Keys } from './keys.ts';
import type { RedisClient } from './redis.ts';
import { unwrap } from './redis-exec.ts';

/**
 * The event record's write side (the read side is event-status.ts): what the ingest writes when it
 * accepts a delivery. Plain commands in MULTI (no scripts), so that it works on any Redis the
 * queue works on and fails the same way.
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

/**
 * Replay detection for sources whose event id is not signed: claims the signed body for this
 * event (`SET NX`, same window as the record) and returns the event that owns it — this one, or
 * the one the body was first accepted as.
 */
export async function claimSignedBody(
  redis: RedisClient,
  keys: Keys,
  { source, bodyHash, tag }: { source: string; bodyHash: string; tag: string },
  ttlSeconds: number,
): Promise<string> {
  const key = keys.signedBody(source, bodyHash);
  const [, owner] = unwrap(await redis.multi().set(key, tag, 'EX', ttlSeconds, 'NX').get(key).exec());
  return String(owner);
}

/** Points the signed body at this event, once its previous owner's record is known to be gone. */
export async function takeOverSignedBody(
  redis: RedisClient,
  keys: Keys,
  { source, bodyHash, tag }: { source: string; bodyHash: string; tag: string },
  ttlSeconds: number,
): Promise<void> {
  await redis.set(keys.signedBody(source, bodyHash), tag, 'EX', ttlSeconds);
}

/**
 * Counts a replay on the event that owns a signed body, if that event is durable (enqueued).
 * 'pending': its first delivery has not been enqueued yet; 'gone': no record (expired, or its
 * ingest died between the claim and the record).
 */
export async function countReplay(
  redis: RedisClient,
  keys: Keys,
  ownerTag: string,
  ttlSeconds: number,
): Promise<'counted' | 'pending' | 'gone'> {
  const key = keys.event(ownerTag);
  const record = await redis.hgetall(key);
  if (!record.source) return 'gone';
  if (isPending(record)) return 'pending';
  // EXPIRE NX: should the record expire between the read and the increment, the stub the
  // increment creates (no `source`, so never shown) still goes away.
  unwrap(await redis.multi().hincrby(key, 'replays', 1).expire(key, ttlSeconds, 'NX').exec());
  return 'counted';
}
