import {
  bullPrefix,
  createKeys,
  createLogger,
  createRedis,
  type EventJob,
  eventTag,
  type Keys,
  type Logger,
  openRecord,
  QUEUES,
  type RedisClient,
  readEventStatus,
  type WorkflowJob,
  waitForRedis,
} from '@oncehook/shared';
import { randomPrefix } from '@oncehook/testing';
import { Queue } from 'bullmq';
import { type ProcessDeps, processEventJob, processWorkflowJob } from '../engine/process-job.ts';
import { createRegistry } from '../engine/registry.ts';
import type { WorkflowDefinition } from '../engine/workflow.ts';
import { parseWorkerEnv, type WorkerEnv } from '../env.ts';

/**
 * The step engine for tests: real Redis (REDIS_URL or 127.0.0.1:6379), a fresh random
 * QUEUE_PREFIX, no worker process: jobs are handed to the processors directly. `close()` deletes
 * every key the prefix owns.
 */
export async function createTestEngine<Services>(
  workflows: readonly WorkflowDefinition<Services>[],
  /** Builds the services, from the harness's own config and connection if they need them. */
  services: (h: { config: WorkerEnv; redis: RedisClient; keys: Keys; log: Logger }) => Services,
  env: Record<string, string> = {},
) {
  const config = parseWorkerEnv({
    REDIS_URL: process.env.REDIS_URL,
    QUEUE_PREFIX: randomPrefix('tw'),
    LOG_LEVEL: 'silent',
    BACKOFF_MS: '20',
    ...env,
  });
  const redis = createRedis(config, 'patient', 'oncehook-worker-test');
  await waitForRedis(redis);
  const keys = createKeys(config.QUEUE_PREFIX);
  const log = createLogger(config, 'worker-test');
  const workflowsQueue = new Queue(QUEUES.workflows, { connection: redis, prefix: bullPrefix(config) });
  /** The jobs ordering lanes handed on (a worker would add them to the queue). */
  const handed: { data: EventJob | WorkflowJob; jobId: string }[] = [];
  // As BullMQ: adding a job id that was added before is a no-op.
  const handedIds = new Set<string>();
  const engine: ProcessDeps<Services> = {
    redis,
    keys,
    registry: createRegistry(workflows),
    services: services({ config, redis, keys, log }),
    log,
    env: config,
    simulateCrash: config.SIMULATE_CRASH,
    workflowsQueue,
    lanes: {
      handOff: async (data, jobId) => {
        if (handedIds.has(jobId)) return;
        handedIds.add(jobId);
        handed.push({ data: data as EventJob, jobId });
      },
    },
  };

  /**
   * Accepts a delivery the way the ingest does (the shared record writer) and returns the
   * `events` job the ingest would have added.
   */
  async function acceptEvent(
    eventId: string,
    body: unknown,
    {
      source = 'demo',
      type = 'test',
      partitions = 1,
      order,
    }: { source?: string; type?: string; partitions?: number; order?: EventJob['order'] } = {},
  ) {
    const tag = eventTag(source, eventId);
    const windowSeconds = config.DEDUPE_TTL_SECONDS;
    const payload = JSON.stringify(body);
    const delivery = {
      source,
      eventId,
      type,
      payload,
      bodyHash: 'test',
      receivedAt: Date.now(),
      windowSeconds,
      partitions,
    };
    const opened = await openRecord(redis, keys, tag, delivery);
    const job: EventJob = {
      source,
      eventId,
      type,
      payload,
      receivedAt: opened.gen,
      windowSeconds,
      ...(order ? { order } : {}),
    };
    return { ...job, tag, job };
  }

  return {
    config,
    redis,
    keys,
    engine,
    workflowsQueue,
    handed,
    acceptEvent,
    /** The `workflows` job of one workflow of an event (for events with several). */
    jobFor: (event: { job: EventJob }, workflow: string): WorkflowJob => ({ ...event.job, workflow }),
    /** Hands a job to its processor, as a worker would on attempt `attemptsMade + 1`. */
    run: (
      data: EventJob | WorkflowJob,
      {
        attemptsMade = 0,
        attemptsStarted = attemptsMade + 1,
        maxAttempts = config.MAX_ATTEMPTS,
        lock,
        id,
      }: {
        id?: string;
        attemptsMade?: number;
        attemptsStarted?: number;
        maxAttempts?: number;
        lock?: { key: string; token: string };
      } = {},
    ) => {
      const job = {
        data,
        attemptsMade,
        attemptsStarted,
        maxAttempts,
        ...(lock ? { lock } : {}),
        ...(id ? { id } : {}),
      };
      return 'workflow' in data ? processWorkflowJob(engine, job) : processEventJob(engine, job);
    },
    status: (eventId: string, source = 'demo') => readEventStatus(redis, keys, eventTag(source, eventId)),
    async close() {
      await workflowsQueue.close();
      const made = [
        ...(await redis.keys(`${config.QUEUE_PREFIX}:*`)),
        ...(await redis.keys(`${bullPrefix(config)}:*`)),
        ...(await redis.keys(`{${config.QUEUE_PREFIX}:p*`)),
      ];
      if (made.length) await redis.del(...made);
      redis.disconnect();
    },
  };
}

export type TestEngine = Awaited<ReturnType<typeof createTestEngine>>;
