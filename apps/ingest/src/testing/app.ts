import {
  createKeys,
  createLogger,
  createRedis,
  eventTag,
  type Logger,
  openQueues,
  waitForRedis,
} from '@oncehook/shared';
import { adminHeaders, randomPrefix, TEST_ADMIN_TOKEN } from '@oncehook/testing';
import { adminCredentials } from '../admin-auth.ts';
import { createApp, type ExtraRoutes } from '../app.ts';
import { parseIngestEnv } from '../env.ts';
import { createMetrics } from '../metrics.ts';
import { createProviders } from '../providers/registry.ts';

/**
 * An ingest app for route tests: real Redis (REDIS_URL or 127.0.0.1:6379), a fresh random
 * QUEUE_PREFIX so tests never see each other's keys, no port, ADMIN_TOKEN TEST_ADMIN_TOKEN (unless
 * `env` sets it; '' for none), short secrets allowed, silent unless `opts.log` is given. `close()`
 * deletes every key made.
 */
export async function createTestApp(
  env: Record<string, string> = {},
  opts: { now?: () => number; log?: Logger; routes?: ExtraRoutes } = {},
) {
  const config = parseIngestEnv({
    REDIS_URL: process.env.REDIS_URL,
    QUEUE_PREFIX: randomPrefix(),
    LOG_LEVEL: 'silent',
    ADMIN_TOKEN: TEST_ADMIN_TOKEN,
    // Tests name their secrets for what they are ('gh-replay'), shorter than a real one.
    ALLOW_SHORT_SECRETS: '1',
    ...env,
  });
  const redis = createRedis(config, 'fail-fast', 'oncehook-test');
  await waitForRedis(redis);
  const keys = createKeys(config.QUEUE_PREFIX);
  const queues = openQueues(config, redis);
  // Most tests run one partition: its events queue.
  const queue = queues.current()[0]!.events;
  const app = createApp({
    redis,
    keys,
    queues,
    retry: config,
    log: opts.log ?? createLogger(config, 'ingest-test'),
    providers: createProviders(config),
    publicUrl: config.PUBLIC_URL,
    maxBodyBytes: config.MAX_BODY_BYTES,
    lingerMs: config.HTTP_LINGER_MS,
    metrics: createMetrics(queues),
    now: opts.now,
    routes: opts.routes,
    adminToken: adminCredentials(config),
    statusPublic: config.STATUS_PUBLIC,
    dashboardWrite: config.ADMIN_DASHBOARD_WRITE,
    production: config.NODE_ENV === 'production',
    ack: { replicas: config.ACK_REPLICAS, timeoutMs: config.ACK_REPLICA_TIMEOUT_MS },
  });

  const post = (path: string, body: unknown, headers: Record<string, string> = {}) =>
    app.request(path, {
      method: 'POST',
      body: typeof body === 'string' || body instanceof Uint8Array ? body : JSON.stringify(body),
      headers: { 'content-type': 'application/json', ...headers },
    });

  /** GET with the admin credentials (/status, /admin). */
  const get = (path: string) => app.request(path, { headers: adminHeaders() });

  /** Every key this app's prefix owns (event records, BullMQ's in every partition). */
  const ownKeys = async () => [
    ...(await redis.keys(`${config.QUEUE_PREFIX}:*`)),
    ...(await redis.keys(`{${config.QUEUE_PREFIX}}:*`)),
    ...(await redis.keys(`{${config.QUEUE_PREFIX}:p*`)),
  ];

  /** What a worker's first write does to an event's record: it is no longer pending. */
  const startedByWorker = async (source: string, eventId: string) => {
    const key = keys.event(eventTag(source, eventId));
    if (!(await redis.exists(key))) throw new Error(`no record for ${source}/${eventId}`);
    await redis.hset(key, 'state', 'processing');
  };

  /** The event's job, whatever its state and generation, found by its data. */
  const jobOf = async (source: string, eventId: string) =>
    (await Promise.all(queues.pairs().map((p) => p.events.getJobs())))
      .flat()
      .find((j) => j?.data?.source === source && j.data.eventId === eventId);

  /** What a delivery leaves behind: event records, replay keys, jobs (BullMQ's queue meta aside). */
  const traces = async () => ({
    records: await redis.keys(`${config.QUEUE_PREFIX}:*`),
    jobs: (await Promise.all(queues.pairs().map((p) => p.events.getJobCounts())))
      .flatMap((counts) => Object.values(counts))
      .reduce((a, b) => a + b, 0),
  });

  return {
    app,
    config,
    redis,
    keys,
    queue,
    queues,
    post,
    get,
    ownKeys,
    traces,
    jobOf,
    startedByWorker,
    async close() {
      // The queue first: BullMQ writes its meta key lazily, and would leave it behind.
      await queues.close();
      if (redis.status !== 'ready') await redis.connect().catch(() => {});
      const made = await ownKeys();
      if (made.length) await redis.del(...made);
      redis.disconnect();
    },
  };
}

export type TestApp = Awaited<ReturnType<typeof createTestApp>>;

/** Response bodies in tests are inspected freely. */
// biome-ignore lint/suspicious/noExplicitAny: see above
export const readJson = (res: Response): Promise<any> => res.json();
