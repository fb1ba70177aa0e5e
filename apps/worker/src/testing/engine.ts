import {
  bullPrefix,
  countDelivery,
  createKeys,
  createLogger,
  createRedis,
  eventTag,
  type Keys,
  type Logger,
  openRecord,
  type RedisClient,
  readEventStatus,
  type WorkflowJob,
  waitForRedis,
} from '@oncehook/shared';
import { randomPrefix } from '@oncehook/testing';
import { createRegistry } from '../engine/registry.ts';
import { type EngineDeps, runWorkflowJob } from '../engine/run-workflow.ts';
import type { WorkflowDefinition } from '../engine/workflow.ts';
import { parseWorkerEnv, type WorkerEnv } from '../env.ts';

/**
 * The step engine for tests: real Redis (REDIS_URL or 127.0.0.1:6379), a fresh random
 * QUEUE_PREFIX, no queue and no process. `close()` deletes every key the prefix owns.
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
  const engine: EngineDeps<Services> = {
    redis,
    keys,
    registry: createRegistry(workflows),
    services: services({ config, redis, keys, log }),
    log,
    simulateCrash: config.SIMULATE_CRASH,
  };

  /**
   * Accepts a delivery the way the ingest does (the shared record writer: open, then count as
   * enqueued), and writes the list of workflows the dispatcher would add to it.
   */
  async function acceptEvent(
    eventId: string,
    body: unknown,
    { source = 'demo', type = 'test', dispatched = true } = {},
  ) {
    const tag = eventTag(source, eventId);
    const receivedAt = Date.now();
    const windowSeconds = config.DEDUPE_TTL_SECONDS;
    const payload = JSON.stringify(body);
    const delivery = { source, eventId, type, payload, bodyHash: 'test', receivedAt };
    await openRecord(redis, keys, tag, delivery, windowSeconds);
    await countDelivery(redis, keys, tag, { conflict: false, enqueued: true });
    if (dispatched) {
      const names = engine.registry.forEvent(source, type).map((wf) => wf.name);
      await redis.hset(keys.event(tag), 'workflows', JSON.stringify(names));
    }
    return {
      source,
      eventId,
      type,
      payload,
      receivedAt,
      windowSeconds,
      expiresAt: receivedAt + windowSeconds * 1000,
      tag,
    };
  }

  /** The job the dispatcher would add for one workflow of an accepted event. */
  function jobFor(
    event: Awaited<ReturnType<typeof acceptEvent>>,
    workflow: string,
    workflowNames = [workflow],
  ): WorkflowJob {
    const { tag: _tag, ...rest } = event;
    return { ...rest, workflow, workflows: workflowNames };
  }

  return {
    config,
    redis,
    keys,
    engine,
    acceptEvent,
    jobFor,
    run: (data: WorkflowJob, { attemptsMade = 0, maxAttempts = config.MAX_ATTEMPTS } = {}) =>
      runWorkflowJob(engine, { data, attemptsMade, maxAttempts }),
    status: (eventId: string, source = 'demo') => readEventStatus(redis, keys, eventTag(source, eventId)),
    async close() {
      const made = [
        ...(await redis.keys(`${config.QUEUE_PREFIX}:*`)),
        ...(await redis.keys(`${bullPrefix(config)}:*`)),
      ];
      if (made.length) await redis.del(...made);
      redis.disconnect();
    },
  };
}

export type TestEngine = Awaited<ReturnType<typeof createTestEngine>>;
