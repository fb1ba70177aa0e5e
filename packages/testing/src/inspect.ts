import {
  bodyHash,
  bullPrefix,
  createKeys,
  type EventJob,
  eventJobSchema,
  eventTag,
  openRecord,
  QUEUES,
} from '@oncehook/shared';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';

/**
 * The test's own view of what an ingest left in Redis: its event records and BullMQ's `events`
 * queue, read through BullMQ's API rather than its key layout. A patient connection (offline
 * queue on) so that it rides out the Redis restarts the tests cause.
 */
export function inspect(redisUrl: string, queuePrefix: string) {
  const redis = new Redis(redisUrl, { maxRetriesPerRequest: null, retryStrategy: () => 100 });
  redis.on('error', () => {});
  const keys = createKeys(queuePrefix);
  const events = new Queue(QUEUES.events, {
    connection: redis,
    prefix: bullPrefix({ QUEUE_PREFIX: queuePrefix }),
  });
  events.on('error', () => {});

  return {
    redis,
    keys,
    events,
    /** Every job of the events queue, whatever its state. */
    async jobCount() {
      const counts = await events.getJobCounts();
      return Object.values(counts).reduce((a, b) => a + b, 0);
    },
    /** The event's job (whatever its state and generation), found by its data. */
    async job(eventId: string, source = 'demo'): Promise<EventJob | undefined> {
      const jobs = await events.getJobs();
      const job = jobs.find((j) => j?.data?.source === source && j.data.eventId === eventId);
      return job ? eventJobSchema.parse(job.data) : undefined;
    },
    async record(eventId: string, source = 'demo') {
      return redis.hgetall(keys.event(eventTag(source, eventId)));
    },
    /**
     * Does what a delivery's first step does (the shared record writer `openRecord`, as the ingest
     * calls it) and nothing after it: an ingest that died before its enqueue.
     */
    async openRecordOnly(eventId: string, body: unknown, source = 'demo') {
      const opened = await openRecord(redis, keys, eventTag(source, eventId), {
        type: String((body as { type?: unknown }).type ?? 'unknown'),
        bodyHash: bodyHash(JSON.stringify(body)),
        receivedAt: Date.now(),
        windowSeconds: 3600,
      });
      if (opened.kind !== 'new') throw new Error('the record should be new');
    },
    async close() {
      await events.close();
      redis.disconnect();
    },
  };
}

export type Inspector = ReturnType<typeof inspect>;
