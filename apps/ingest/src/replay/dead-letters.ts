import {
  destinationRequests,
  EVENT_FIELDS,
  eventTag,
  type Keys,
  type PartitionedQueues,
  type RedisClient,
} from '@oncehook/shared';
import type { Job, Queue } from 'bullmq';

/** One run that failed for good: its job, kept as a dead letter for FAILED_RETENTION. */
export type DeadLetter = Awaited<ReturnType<typeof describe>>;

export interface DeadLetterQuery {
  source?: string | undefined;
  /** Failed at or after this time (ms). */
  since?: number | undefined;
}

const CHUNK = 100;

/**
 * Every failed job of every partition opened (an older layout's too), newest first within each
 * queue, partition by partition: an order that stays put while nothing fails, so that an offset
 * is a cursor.
 */
async function* failedJobs(queues: PartitionedQueues, query: DeadLetterQuery) {
  for (const { partition, events, workflows } of queues.pairs()) {
    for (const queue of [events, workflows] as Queue[]) {
      for (let start = 0; ; start += CHUNK) {
        const jobs = (await queue.getJobs(['failed'], start, start + CHUNK - 1, false)).filter(
          (j): j is Job => Boolean(j),
        );
        for (const job of jobs) {
          if (query.since !== undefined && (job.finishedOn ?? 0) < query.since) break;
          if (query.source !== undefined && job.data?.source !== query.source) continue;
          yield { job, queue, partition: partition.label };
        }
        const last = jobs.at(-1);
        if (jobs.length < CHUNK || (query.since !== undefined && (last?.finishedOn ?? 0) < query.since))
          break;
      }
    }
  }
}

/** A page of dead letters, with the cursor of the next page (null: this was the last). */
export async function listDeadLetters(
  deps: { redis: RedisClient; keys: Keys; queues: PartitionedQueues },
  query: DeadLetterQuery & { cursor: number; limit: number },
): Promise<{ events: DeadLetter[]; nextCursor: number | null }> {
  const events: DeadLetter[] = [];
  let seen = 0;
  for await (const found of failedJobs(deps.queues, query)) {
    if (seen++ < query.cursor) continue;
    if (events.length === query.limit) return { events, nextCursor: query.cursor + query.limit };
    events.push(await describe(deps, found));
  }
  return { events, nextCursor: null };
}

async function describe(
  deps: { redis: RedisClient; keys: Keys },
  { job, queue, partition }: { job: Job; queue: Queue; partition: string },
) {
  const source = String(job.data?.source ?? '');
  const eventId = String(job.data?.eventId ?? '');
  const record = await deps.redis.hgetall(deps.keys.event(eventTag(source, eventId)));
  const replayable = record.receivedAt === String(job.data?.receivedAt);
  const workflow =
    (job.data?.workflow as string | undefined) ??
    (record.workflows?.split(',').length === 1 ? record.workflows : null) ??
    null;
  const requests = workflow ? record[EVENT_FIELDS.requests(workflow)] : undefined;
  // Failed before its attempts ran out: BullMQ does that only for an error retrying cannot help —
  // but a destination's (which never uses its attempts) is the service's answer: fixed there, a
  // replay delivers it.
  const permanent = !requests && job.attemptsMade < (job.opts.attempts ?? 1);
  /**
   * Why a replay cannot succeed as things stand. `record_expired`: its markers went with its
   * record, and running its steps again could repeat them. `permanent_error`: it failed at once
   * (PermanentError: bad data, a refused request), and runs into the same error again until the
   * code or configuration that refused it changes.
   */
  const reason = !replayable ? 'record_expired' : permanent ? 'permanent_error' : undefined;
  return {
    source,
    eventId,
    workflow,
    /** The step it failed at (the first without a marker), when its record still says. */
    failedStep: replayable && workflow ? failedStep(record, workflow) : null,
    error: (workflow && replayable && record[EVENT_FIELDS.runError(workflow)]) || job.failedReason || '',
    attempts: job.attemptsMade,
    failedAt: job.finishedOn ?? 0,
    jobId: String(job.id),
    queue: queue.name,
    partition,
    /** Whether a replay can succeed as things stand; when not, `reason` says why. */
    replayable: !reason,
    ...(reason ? { reason } : {}),
    // A destination's requests (the last 20), what each was answered.
    ...(requests && replayable ? { requests: destinationRequests(requests) } : {}),
  };
}

/**
 * The step the run stopped at: the one the worker recorded as attempted (`t:`) without a marker;
 * else the first without a marker after the last marked one (a step that throws before any effect).
 */
function failedStep(record: Record<string, string>, workflow: string): string | null {
  const steps = (record[EVENT_FIELDS.runSteps(workflow)] ?? '').split(',').filter(Boolean);
  const marked = (step: string) => record[EVENT_FIELDS.marker(workflow, step)] !== undefined;
  const attempted = steps.find((s) => !marked(s) && record[EVENT_FIELDS.started(workflow, s)] !== undefined);
  if (attempted) return attempted;
  const lastMarked = steps.findLastIndex(marked);
  return steps[lastMarked + 1] ?? null;
}
