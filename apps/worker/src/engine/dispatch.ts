import {
  eventJobSchema,
  eventTag,
  JOB_NAMES,
  type Keys,
  type Logger,
  type RedisClient,
  retryOptions,
  unwrap,
  type WorkflowJob,
  workflowJobId,
} from '@oncehook/shared';
import { type Queue, UnrecoverableError } from 'bullmq';
import type { WorkerEnv } from '../env.ts';
import type { WorkflowRegistry } from './registry.ts';

export interface DispatchDeps<Services> {
  redis: RedisClient;
  keys: Keys;
  registry: WorkflowRegistry<Services>;
  /** The `workflows` queue. */
  queue: Queue;
  config: Pick<WorkerEnv, 'MAX_ATTEMPTS' | 'BACKOFF_MS'>;
  log: Logger;
}

export interface DispatchOutcome {
  outcome: 'dispatched' | 'ignored' | 'noop';
  workflows: string[];
}

const FINISHED = new Set(['completed', 'ignored']);

/**
 * Fans an `events` job out to one `workflows` job per registered workflow, so that independent
 * consumers retry and fail on their own. The list is written to the event record first (first
 * dispatch wins) and each run starts as `queued`; the job ids make adding them again harmless.
 */
export async function dispatchEvent<Services>(
  deps: DispatchDeps<Services>,
  job: { data: unknown },
): Promise<DispatchOutcome> {
  const parsed = eventJobSchema.safeParse(job.data);
  if (!parsed.success) throw new UnrecoverableError(`malformed event job: ${parsed.error.message}`);
  const event = parsed.data;
  const tag = eventTag(event.source, event.eventId);
  const recordKey = deps.keys.event(tag);

  const [state, stored, recordExpiresAt] = await deps.redis.hmget(
    recordKey,
    'state',
    'workflows',
    'expiresAt',
  );
  // A job added again after the event finished (a replay of the events job, a re-created job).
  if (state && FINISHED.has(state)) return { outcome: 'noop', workflows: parseList(stored) };

  const expiresAt = Number(recordExpiresAt) || event.receivedAt + event.windowSeconds * 1000;
  const names = stored
    ? parseList(stored)
    : deps.registry.forEvent(event.source, event.type).map((wf) => wf.name);

  if (names.length === 0) {
    await deps.redis
      .multi()
      .hset(recordKey, { state: 'ignored', updatedAt: String(Date.now()) })
      .pexpireat(recordKey, expiresAt)
      .exec();
    deps.log.info({ source: event.source, eventId: event.eventId, type: event.type }, 'no workflow: ignored');
    return { outcome: 'ignored', workflows: [] };
  }

  const tx = deps.redis.multi().hsetnx(recordKey, 'workflows', JSON.stringify(names));
  for (const name of names) {
    const run = deps.keys.workflowRun(tag, name);
    const steps = deps.registry.byName(name)?.steps.map((s) => s.name) ?? [];
    tx.hsetnx(run, 'state', 'queued')
      .hsetnx(run, 'attempts', '0')
      .hsetnx(run, 'steps', JSON.stringify(steps))
      .pexpireat(run, expiresAt);
  }
  const results = unwrap(await tx.hget(recordKey, 'workflows').exec());
  const workflows = parseList(results.at(-1) as string | null);

  await deps.queue.addBulk(
    workflows.map((workflow) => ({
      name: JOB_NAMES.workflow,
      data: { ...event, workflow, workflows, expiresAt } satisfies WorkflowJob,
      opts: { ...retryOptions(deps.config), jobId: workflowJobId(tag, workflow) },
    })),
  );
  deps.log.debug({ source: event.source, eventId: event.eventId, workflows }, 'dispatched');
  return { outcome: 'dispatched', workflows };
}

function parseList(json: string | null | undefined): string[] {
  if (!json) return [];
  const value: unknown = JSON.parse(json);
  return Array.isArray(value) ? value.filter((v): v is string => typeof v === 'string') : [];
}
