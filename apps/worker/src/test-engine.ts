import { randomUUID } from 'node:crypto';
import {
  bullPrefix,
  type Config,
  createKeys,
  createLogger,
  createRedis,
  jobIdFor,
  parseConfig,
  readEventStatus,
  type WorkflowDefinition,
  type WorkflowJob,
  waitForRedis,
} from '@oncehook/shared';
import { createRegistry } from './engine/registry.ts';
import { type EngineDeps, runWorkflowJob } from './engine/run-workflow.ts';

/**
 * The step engine for tests: real Redis (REDIS_URL or 127.0.0.1:6379), a fresh random
 * QUEUE_PREFIX, no queue and no process. `close()` deletes every key the prefix owns.
 */
export async function createTestEngine<Services>(
  workflows: readonly WorkflowDefinition<Services>[],
  services: Services,
  env: Record<string, string> = {},
) {
  const config: Config = parseConfig({
    REDIS_URL: process.env.REDIS_URL ?? 'redis://127.0.0.1:6379',
    QUEUE_PREFIX: `tw${randomUUID().slice(0, 8)}`,
    LOG_LEVEL: 'silent',
    BACKOFF_MS: '20',
    ...env,
  });
  const redis = createRedis(config, 'patient', 'oncehook-worker-test');
  await waitForRedis(redis);
  const keys = createKeys(config.QUEUE_PREFIX);
  const engine: EngineDeps<Services> = {
    redis,
    keys,
    registry: createRegistry(workflows),
    services,
    log: createLogger(config, 'worker-test'),
    simulateCrash: config.SIMULATE_CRASH,
  };

  /**
   * Writes the event record the way the ingest does for an accepted, enqueued delivery, with the
   * list of workflows the dispatcher would add to it.
   */
  async function acceptEvent(
    eventId: string,
    body: unknown,
    { source = 'demo', type = 'test', dispatched = true } = {},
  ) {
    const tag = jobIdFor(source, eventId);
    const receivedAt = Date.now();
    const expiresAt = receivedAt + config.DEDUPE_TTL_SECONDS * 1000;
    const payload = JSON.stringify(body);
    await redis.hset(keys.event(tag), {
      source,
      eventId,
      type,
      payload,
      bodyHash: 'test',
      receivedAt: String(receivedAt),
      expiresAt: String(expiresAt),
      enqueuedAt: String(receivedAt),
      deliveries: '1',
    });
    if (dispatched) {
      const names = engine.registry.forEvent(source, type).map((wf) => wf.name);
      await redis.hset(keys.event(tag), 'workflows', JSON.stringify(names));
    }
    await redis.pexpireat(keys.event(tag), expiresAt);
    return { source, eventId, type, payload, receivedAt, expiresAt, tag };
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
    status: (eventId: string, source = 'demo') => readEventStatus(redis, keys, jobIdFor(source, eventId)),
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
