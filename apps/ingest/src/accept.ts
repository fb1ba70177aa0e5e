import { createHash } from 'node:crypto';
import {
  claimSignedBody,
  countDelivery,
  countReplay,
  eventTag,
  type Keys,
  type Logger,
  openRecord,
  type RedisClient,
  takeOverSignedBody,
} from '@oncehook/shared';
import type { Queue } from 'bullmq';
import { enqueueEvent, type RetryConfig } from './enqueue.ts';
import { unavailable } from './errors.ts';

export interface AcceptDeps {
  redis: RedisClient;
  keys: Keys;
  queue: Queue;
  retry: RetryConfig;
  log: Logger;
}

export interface IncomingEvent {
  source: string;
  eventId: string;
  type: string;
  rawBody: Buffer;
  ttlSeconds: number;
  /** What to store and enqueue when it is not the raw body (see VerifiedEvent.payload). */
  payload?: string;
  /** The event id is not covered by the signature: also dedupe on the signed body. */
  idUnsigned?: boolean;
}

export interface Accepted {
  duplicate: boolean;
  deliveries: number;
  conflict: boolean;
  /** A signed body already accepted under another event id: counted there, nothing stored. */
  replay?: boolean;
}

/**
 * The exactly-once ingest path: record (first body wins) -> enqueue if still pending -> count.
 * Any Redis failure throws `unavailable` (503) before anything is counted; the record it may
 * leave behind is "pending", which the provider's retry enqueues instead of calling a duplicate.
 */
export async function acceptEvent(deps: AcceptDeps, event: IncomingEvent): Promise<Accepted> {
  const { redis, keys, queue, log } = deps;
  const tag = eventTag(event.source, event.eventId);
  const bodyHash = createHash('sha256').update(event.rawBody).digest('hex');
  const receivedAt = Date.now();
  try {
    if (event.idUnsigned) {
      const replay = await replayOf(deps, event, tag, bodyHash);
      if (replay) return replay;
    }
    const opened = await openRecord(
      redis,
      keys,
      tag,
      { ...event, payload: event.payload ?? event.rawBody.toString('utf8'), bodyHash, receivedAt },
      event.ttlSeconds,
    );
    const { record } = opened;
    if (opened.pending) {
      await enqueueEvent(
        queue,
        tag,
        {
          source: event.source,
          eventId: event.eventId,
          type: record.type ?? event.type,
          payload: record.payload ?? '',
          receivedAt: Number(record.receivedAt ?? receivedAt),
          windowSeconds: event.ttlSeconds,
        },
        deps.retry,
      );
    }
    const deliveries = await countDelivery(redis, keys, tag, {
      conflict: opened.conflict,
      enqueued: opened.pending,
    });
    if (opened.conflict) {
      log.warn(
        { source: event.source, eventId: event.eventId, firstHash: record.bodyHash, bodyHash },
        'same event id, different body: the first body is kept',
      );
    }
    return { duplicate: deliveries > 1, deliveries, conflict: opened.conflict };
  } catch (err) {
    throw unavailable(err);
  }
}

/**
 * For sources whose event id travels outside the signature: a captured delivery re-sent under a
 * new id is recognised by its signed body, counted as a replay of the first event, and nothing
 * is stored for the new id. Returns null when this delivery goes on as usual.
 *
 * The claim is written before the record, so it outlives a delivery that then failed (503). That
 * is harmless: the provider's retry carries the same id and finds its own claim. Only a
 * different id with the same body is a replay — and it is answered 200 only once the first
 * event is durable (enqueued); before that, 503, and the copy comes back later as a replay.
 */
async function replayOf(
  deps: AcceptDeps,
  event: IncomingEvent,
  tag: string,
  bodyHash: string,
): Promise<Accepted | null> {
  const claim = { source: event.source, bodyHash, tag };
  const owner = await claimSignedBody(deps.redis, deps.keys, claim, event.ttlSeconds);
  if (owner === tag) return null;
  const counted = await countReplay(deps.redis, deps.keys, owner, event.ttlSeconds);
  if (counted === 'pending') throw new Error('the first delivery of this signed body is not enqueued yet');
  if (counted === 'gone') {
    // The first owner's record expired, or its ingest died before writing it: this one takes over.
    await takeOverSignedBody(deps.redis, deps.keys, claim, event.ttlSeconds);
    return null;
  }
  deps.log.warn(
    { source: event.source, eventId: event.eventId, original: owner },
    'signed body already accepted under another event id: replay, not processed again',
  );
  return { duplicate: true, deliveries: 0, conflict: false, replay: true };
}
