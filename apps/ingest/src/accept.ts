import { createHash } from 'node:crypto';
import { jobIdFor, type Keys, type Logger, type RedisClient } from '@oncehook/shared';
import type { Queue } from 'bullmq';
import { countDelivery, openRecord } from './dedupe.ts';
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
}

export interface Accepted {
  duplicate: boolean;
  deliveries: number;
  conflict: boolean;
}

/**
 * The exactly-once ingest path: record (first body wins) -> enqueue if still pending -> count.
 * Any Redis failure throws `unavailable` (503) before anything is counted; the record it may
 * leave behind is "pending", which the provider's retry enqueues instead of calling a duplicate.
 */
export async function acceptEvent(deps: AcceptDeps, event: IncomingEvent): Promise<Accepted> {
  const { redis, keys, queue, log } = deps;
  const tag = jobIdFor(event.source, event.eventId);
  const bodyHash = createHash('sha256').update(event.rawBody).digest('hex');
  const receivedAt = Date.now();
  try {
    const opened = await openRecord(
      redis,
      keys,
      tag,
      { ...event, payload: event.rawBody.toString('utf8'), bodyHash, receivedAt },
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
