/**
 * The worker, against a bare BullMQ worker doing the same effects on the same jobs.
 *
 * N demo events are put on a paused `events` queue exactly as the ingest puts them (record, then
 * job), the workers start, the queue resumes, and the clock runs until every job completed.
 */
import { type ChildProcess, fork } from 'node:child_process';
import { join } from 'node:path';
import {
  bodyHash,
  bullPrefix,
  createKeys,
  type EventJob,
  eventJobId,
  eventTag,
  jobName,
  jobOptions,
  type Keys,
  openRecord,
  QUEUES,
  type RedisClient,
} from '@oncehook/shared';
import {
  type AppProcess,
  randomPrefix,
  sleep,
  spawnApp,
  startFakeApis,
  startTestRedis,
  type TestRedis,
} from '@oncehook/testing';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';

export interface WorkerRun {
  target: string;
  processes: number;
  events: number;
  'events/s': number;
  failed: number;
}

export const CONCURRENCY = '50';
// Every completed job is kept during a run: the clock stops when all of them are counted.
export const env = { MAX_ATTEMPTS: 8, BACKOFF_MS: 1000, COMPLETED_JOBS_KEPT: 10_000_000 };
const WINDOW = 604800;

/** An event as the ingest stores it: its record written, its `events` job to add. */
export async function storedEventJob(
  redis: RedisClient,
  keys: Keys,
  e: Pick<EventJob, 'source' | 'eventId' | 'type' | 'payload' | 'order'> & { partitions?: number },
) {
  const tag = eventTag(e.source, e.eventId);
  const delivery = {
    type: e.type,
    bodyHash: bodyHash(e.payload),
    receivedAt: Date.now(),
    windowSeconds: WINDOW,
    partitions: e.partitions ?? 1,
  };
  const opened = await openRecord(redis, keys, tag, delivery);
  const data: EventJob = {
    source: e.source,
    eventId: e.eventId,
    type: e.type,
    payload: e.payload,
    receivedAt: opened.gen,
    windowSeconds: WINDOW,
    ...(e.order ? { order: e.order } : {}),
  };
  return {
    tag,
    job: {
      name: jobName(data),
      data,
      opts: { ...jobOptions(env, WINDOW), jobId: eventJobId(tag, opened.gen) },
    },
  };
}

/** One demo payment event, stored as the ingest does. */
export const demoEventJob = (redis: RedisClient, keys: Keys, eventId: string, partitions = 1) =>
  storedEventJob(redis, keys, {
    source: 'demo',
    eventId,
    type: 'payment.succeeded',
    payload: JSON.stringify({ event_id: eventId, type: 'payment.succeeded', amount: 1000, currency: 'USD' }),
    partitions,
  });

/** Puts `n` events on the (paused) queue the way the ingest does. */
export async function preload(redis: Redis, prefix: string, n: number) {
  const keys = createKeys(prefix);
  const queue = new Queue(QUEUES.events, { connection: redis, prefix: bullPrefix({ QUEUE_PREFIX: prefix }) });
  await queue.pause();
  const one = async (eventId: string) => (await demoEventJob(redis, keys, eventId)).job;
  for (let i = 0; i < n; i += 500) {
    await queue.addBulk(
      await Promise.all(Array.from({ length: Math.min(500, n - i) }, (_, j) => one(`evt_${i + j}`))),
    );
  }
  return queue;
}

/** Waits until `n` jobs completed or failed, over every queue given (a partitioned queue's). */
export async function untilDone(queues: Queue[], n: number) {
  const deadline = Date.now() + 600_000;
  for (;;) {
    const counts = await Promise.all(queues.map((q) => q.getJobCounts('completed', 'failed')));
    const completed = counts.reduce((s, c) => s + (c.completed ?? 0), 0);
    const failed = counts.reduce((s, c) => s + (c.failed ?? 0), 0);
    if (completed + failed >= n) return { failed };
    if (Date.now() > deadline) throw new Error(`only ${completed + failed} of ${n} jobs finished`);
    await sleep(50);
  }
}

export function forkBaseline(args: string[]): Promise<ChildProcess> {
  const child = fork(join(import.meta.dirname, 'baselines', 'bare-worker.mjs'), args, {
    stdio: ['ignore', 'ignore', 'inherit', 'ipc'],
  });
  return new Promise((resolve) => child.once('message', () => resolve(child)));
}

/** One measured run: `target` workers x `processes` on their own Redis and queue. */
export async function workerRun(
  target:
    | 'oncehook (simulators)'
    | 'oncehook (HTTP APIs)'
    | 'bare BullMQ (HTTP APIs)'
    | 'bare BullMQ (no-op)',
  processes: number,
  events: number,
): Promise<WorkerRun> {
  const redis: TestRedis = await startTestRedis();
  const apis = await startFakeApis();
  const prefix = randomPrefix('wb');
  const client = new Redis(redis.url, { maxRetriesPerRequest: null });
  const apps: AppProcess[] = [];
  const baselines: ChildProcess[] = [];
  try {
    const queue = await preload(client, prefix, events);
    for (let p = 0; p < processes; p++) {
      if (target.startsWith('oncehook')) {
        const http: Record<string, string> =
          target === 'oncehook (HTTP APIs)' ? { PAYMENTS_URL: apis.url, MAILER_URL: apis.url } : {};
        const app = spawnApp('worker', {
          REDIS_URL: redis.url,
          QUEUE_PREFIX: prefix,
          WORKER_CONCURRENCY: CONCURRENCY,
          LOG_LEVEL: 'error',
          ...http,
        });
        apps.push(app);
      } else {
        const mode = target === 'bare BullMQ (no-op)' ? 'noop' : apis.url;
        baselines.push(
          await forkBaseline([redis.url, bullPrefix({ QUEUE_PREFIX: prefix }), mode, CONCURRENCY]),
        );
      }
    }
    await sleep(1500); // start-up (and the Redis checks) out of the measured time
    const started = performance.now();
    await queue.resume();
    const { failed } = await untilDone([queue], events);
    const seconds = (performance.now() - started) / 1000;
    await queue.close();
    return { target, processes, events, 'events/s': Math.round(events / seconds), failed };
  } finally {
    for (const app of apps) app.kill();
    for (const child of baselines) child.kill('SIGKILL');
    await Promise.all(apps.map((a) => a.exited));
    client.disconnect();
    await apis.close();
    redis.stop();
  }
}
