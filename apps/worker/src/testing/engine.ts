import {
  bullPrefix,
  createKeys,
  createLogger,
  createRedis,
  type EventJob,
  eventJobId,
  eventTag,
  type Keys,
  type Logger,
  openRecord,
  QUEUES,
  type RedisClient,
  readEventStatus,
  type WorkflowJob,
  waitForRedis,
  workflowJobId,
} from '@oncehook/shared';
import { randomPrefix } from '@oncehook/testing';
import { Queue } from 'bullmq';
import { isPermanent } from '../engine/errors.ts';
import {
  type JobAttempt,
  type ProcessDeps,
  processEventJob,
  processWorkflowJob,
} from '../engine/process-job.ts';
import { createRegistry } from '../engine/registry.ts';

export { createRegistry };

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
  /**
   * The jobs, as BullMQ would hold them: by id, with their state. A job that parks (or waits for
   * replicas) is `delayed`; one an ordering lane wakes, or adds again, is `waiting` and listed in
   * `handed`, for the test to run as a worker would take it.
   */
  const jobs = new Map<string, { data: unknown; state: string; attemptsStarted: number }>();
  const handed: { data: EventJob | WorkflowJob; jobId: string }[] = [];
  const engine: ProcessDeps<Services> = {
    redis,
    keys,
    registry: createRegistry(workflows),
    services: services({ config, redis, keys, log }),
    log,
    env: config,
    workflowsQueue,
    jobs: {
      async wake(ref, data) {
        const job = jobs.get(ref.id);
        if (!job) {
          if (!data) return 'finished';
          jobs.set(ref.id, { data, state: 'waiting', attemptsStarted: 0 });
          handed.push({ data: data as EventJob, jobId: ref.id });
          return 'added';
        }
        if (job.state === 'delayed') {
          job.state = 'waiting';
          handed.push({ data: job.data as EventJob, jobId: ref.id });
          return 'woken';
        }
        return job.state === 'completed' || job.state === 'failed' ? 'finished' : 'running';
      },
      jobState: async (ref) => jobs.get(ref.id)?.state ?? null,
      jobKey: (ref) => `${bullPrefix(config)}:${ref.queue}:${ref.id}`,
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
    jobs,
    /**
     * Hands a job to its processor, as a worker would on attempt `attemptsMade + 1`, and keeps its
     * state as BullMQ would: `delayed` when it parked, `completed`, `failed` on its last attempt.
     */
    run: async (
      data: EventJob | WorkflowJob,
      {
        attemptsMade = 0,
        attemptsStarted,
        maxAttempts = config.MAX_ATTEMPTS,
        lock,
        id,
        partitions = 1,
      }: {
        id?: string;
        /** QUEUE_PARTITIONS of the queue the job is taken from. */
        partitions?: number;
        attemptsMade?: number;
        attemptsStarted?: number;
        maxAttempts?: number;
        lock?: { key: string; token: string };
      } = {},
    ) => {
      const isWorkflow = 'workflow' in data;
      let jobId = id ?? 'malformed';
      try {
        const tag = eventTag(data.source, data.eventId);
        jobId =
          id ??
          (isWorkflow
            ? workflowJobId(tag, data.receivedAt, data.workflow)
            : eventJobId(tag, data.receivedAt));
      } catch {} // a poison job: the processor says what is wrong with it
      const stored = jobs.get(jobId) ?? { data, state: 'waiting', attemptsStarted: 0 };
      jobs.set(jobId, stored);
      stored.state = 'active';
      stored.attemptsStarted = attemptsStarted ?? Math.max(stored.attemptsStarted + 1, attemptsMade + 1);
      const job: JobAttempt = {
        data,
        ref: { id: jobId, queue: isWorkflow ? 'workflows' : 'events', partition: [0, partitions] },
        attemptsMade,
        attemptsStarted: stored.attemptsStarted,
        maxAttempts,
        ...(lock ? { lock } : {}),
        defer: async () => {
          stored.state = 'delayed';
        },
      };
      try {
        const outcome = await (isWorkflow ? processWorkflowJob(engine, job) : processEventJob(engine, job));
        if (outcome.outcome !== 'parked' && outcome.outcome !== 'deferred') stored.state = 'completed';
        return outcome;
      } catch (err) {
        stored.state = isPermanent(err) || attemptsMade + 1 >= maxAttempts ? 'failed' : 'waiting';
        throw err;
      }
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
