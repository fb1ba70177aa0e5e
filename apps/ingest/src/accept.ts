import {
  type BaseEnv,
  bodyHash,
  claimSignedBody,
  countReplay,
  type EventJob,
  eventJobId,
  eventTag,
  jobName,
  jobOptions,
  type Keys,
  type Logger,
  openRecord,
  type PartitionedQueues,
  parseTag,
  type RedisClient,
  type ReplicationMark,
  replicasHolding,
  replicationMark,
  type SignedBodyClaim,
  signedBodyHash,
  takeOverSignedBody,
  UNCOMPARED_BODY,
  uncountDelivery,
} from '@oncehook/shared';
import { unavailable } from './errors.ts';
import type { VerifiedEvent } from './verify/types.ts';

export type RetryConfig = Pick<
  BaseEnv,
  'MAX_ATTEMPTS' | 'BACKOFF_MS' | 'FAILED_RETENTION' | 'COMPLETED_RETENTION' | 'COMPLETED_JOBS_KEPT'
>;

export interface AcceptDeps {
  redis: RedisClient;
  keys: Keys;
  queues: PartitionedQueues;
  retry: RetryConfig;
  log: Logger;
  /** False until the start-up checks of Redis passed (an evicting Redis stops the process). */
  redisChecked?: () => boolean;
  /** ACK_REPLICAS: how many replicas must hold the event before a 200, and how long to wait. */
  ack?: { replicas: number; timeoutMs: number };
}

/** A verified event (its type, payload, ordering, how it is signed: see VerifiedEvent), to accept. */
export interface IncomingEvent extends Omit<VerifiedEvent, 'id' | 'answer'> {
  source: string;
  eventId: string;
  rawBody: Buffer;
  /** The delivery's Content-Type, kept with the event so that forwarding sends the body on as it came. */
  contentType?: string | undefined;
  ttlSeconds: number;
  /**
   * A copy listed from the provider's API (the reconciler), not a delivery: its body is not
   * compared with the delivered one (see UNCOMPARED_BODY).
   */
  listed?: boolean;
}

export interface Accepted {
  duplicate: boolean;
  deliveries: number;
  conflict: boolean;
  /** A copy: a signed body already accepted under another event id, counted there, nothing stored. */
  copy?: boolean;
}

/**
 * The exactly-once ingest path: open the record (first body wins, every delivery counted) ->
 * enqueue unless a worker already has the event -> 200. Any Redis failure is `unavailable` (503);
 * a delivery whose enqueue failed takes its count back, so the provider's retry starts afresh.
 */
export async function acceptEvent(deps: AcceptDeps, event: IncomingEvent): Promise<Accepted> {
  const { redis, keys, queues, log } = deps;
  const tag = eventTag(event.source, event.eventId);
  // Before anything is written: a reconnect after it means the WAIT below covers nothing.
  const since = replicationMark(redis);
  try {
    if (deps.redisChecked?.() === false) throw new Error('the start-up checks of Redis have not passed yet');
    if (event.idUnsigned) {
      const copy = await copyOf(deps, event, tag, since);
      if (copy) return copy;
    }
    const text = event.rawBody.toString('utf8');
    const payload = event.payload ?? text;
    // Forwarding sends the bytes as delivered: kept too where the payload is not them (a form, or
    // a body that is not UTF-8: its decoding replaced some bytes).
    const asDelivered = payload !== text || text.includes('\uFFFD');
    const delivery = {
      type: event.type,
      bodyHash: event.listed ? UNCOMPARED_BODY : bodyHash(event.rawBody),
      receivedAt: Date.now(),
      windowSeconds: event.ttlSeconds,
      partitions: queues.count,
    };
    const opened = await openRecord(redis, keys, tag, delivery);
    // The layout the event was first enqueued under: QUEUE_PARTITIONS may have changed since.
    const queue = queues.forEvent(tag, opened.partitions).events;
    // Idempotent: the job id is the event's tag and the record's generation, and BullMQ returns
    // the existing job instead of adding a second one while it is kept.
    const jobId = eventJobId(tag, opened.gen);
    if (opened.kind !== 'known') {
      const job: EventJob = {
        source: event.source,
        eventId: event.eventId,
        type: event.type,
        payload,
        receivedAt: opened.gen,
        windowSeconds: event.ttlSeconds,
        // A key without a time is ordered by arrival: the first delivery's.
        ...(event.order ? { order: { key: event.order.key, at: event.order.at ?? opened.gen } } : {}),
        ...(event.contentType ? { contentType: event.contentType } : {}),
        ...(asDelivered ? { rawBody: event.rawBody.toString('base64') } : {}),
      };
      try {
        await queue.add(jobName(job), job, { ...jobOptions(deps.retry, job.windowSeconds), jobId });
      } catch (err) {
        await uncountDelivery(redis, keys, tag, opened).catch(() => {});
        throw err;
      }
    }
    if (opened.conflict) {
      log.warn(
        { source: event.source, eventId: event.eventId, bodyHash: delivery.bodyHash },
        'same event id, different body: the first body is kept',
      );
    }
    await durable(deps, [keys.event(tag), queue.toKey(jobId)], since);
    return { duplicate: opened.deliveries > 1, deliveries: opened.deliveries, conflict: opened.conflict };
  } catch (err) {
    throw unavailable(err);
  }
}

/**
 * With ACK_REPLICAS, a 200 waits until that many replicas hold what this delivery wrote and
 * everything before it (its record, its job): then losing the primary cannot lose the event.
 * Too few in time: 503, and the provider's retry is deduplicated.
 */
async function durable(deps: AcceptDeps, written: string[], since: ReplicationMark): Promise<void> {
  if (!deps.ack || deps.ack.replicas === 0) return;
  const acked = await replicasHolding(deps.redis, deps.ack.replicas, deps.ack.timeoutMs, written, since);
  if (acked < deps.ack.replicas) {
    throw new Error(
      `only ${acked} of ${deps.ack.replicas} replicas hold the event after ${deps.ack.timeoutMs} ms`,
    );
  }
}

/**
 * For sources whose event id travels outside the signature: a captured delivery re-sent under a
 * new id is recognised by its signed body, or by its capture key where the scheme does not sign
 * the raw bytes (with its type: one body under two topics is two events), counted as a copy of the first event, and nothing is stored for the new id. Returns
 * null when this delivery goes on as usual.
 *
 * The claim is written before the record, so it outlives a delivery that then failed (503). That
 * is harmless: the provider's retry carries the same id and finds its own claim. Only a different
 * id with the same body is a copy — answered 200 only once the first event is durable (its job
 * exists); before that, 503, and the copy, sent again later, is one then.
 */
async function copyOf(
  deps: AcceptDeps,
  event: IncomingEvent,
  tag: string,
  since: ReplicationMark,
): Promise<Accepted | null> {
  const claim: SignedBodyClaim = {
    source: event.source,
    sha256: signedBodyHash(event.type, event.captureKey ?? event.rawBody),
    tag,
    ttlSeconds: event.ttlSeconds,
  };
  let owner = await claimSignedBody(deps.redis, deps.keys, claim);
  if (owner === tag) return null;
  let counted = await countReplay(deps.redis, deps.keys, owner);
  if (counted === 'gone') {
    // The owner's record expired, or its ingest died before writing it: take over, unless another
    // copy just did (compare-and-set), in which case this one is a copy of that one.
    owner = await takeOverSignedBody(deps.redis, deps.keys, claim, owner);
    if (owner === tag) return null;
    counted = await countReplay(deps.redis, deps.keys, owner);
  }
  if (counted !== 'counted') throw new Error('the first delivery of this signed body is not durable yet');
  const original = parseTag(owner).eventId;
  deps.log.warn(
    { source: event.source, eventId: event.eventId, original },
    `a copy of event ${original} (its signed body under a new event id): counted there, not processed again`,
  );
  await durable(deps, [deps.keys.event(owner)], since);
  return { duplicate: true, deliveries: 0, conflict: false, copy: true };
}
