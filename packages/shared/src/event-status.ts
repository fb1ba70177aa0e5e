import type { Keys } from './keys.ts';
import type { RedisClient } from './redis.ts';

/**
 * The event record (`keys.event(tag)`, a hash) is both the dedupe record and the status.
 *
 * Written by the ingest:  source, eventId, type, payload, bodyHash, receivedAt, expiresAt (first
 *                         delivery wins: HSETNX), enqueuedAt (once the job exists), deliveries,
 *                         conflicts, replays (counters).
 * Written by the worker:  state, attempts, error, workflows (JSON list of workflow names), updatedAt.
 *
 * A record without `enqueuedAt` and without `state` is "pending": the ingest wrote it but may have
 * died (or Redis refused) before the job existed. A pending record never makes a delivery look
 * like a duplicate; the next delivery enqueues it (the job id makes that idempotent).
 */
export const EVENT_STATES = [
  'pending',
  'queued',
  'processing',
  'retrying',
  'completed',
  'failed',
  'ignored',
] as const;
export type EventState = (typeof EVENT_STATES)[number];

export interface StepStatus {
  name: string;
  done: boolean;
  result?: unknown;
}

export interface WorkflowStatus {
  name: string;
  state: EventState;
  attempts: number;
  steps: StepStatus[];
  error?: string;
}

export interface EventStatus {
  source: string;
  eventId: string;
  type: string;
  state: EventState;
  deliveries: number;
  conflicts: number;
  replays: number;
  attempts: number;
  receivedAt: number;
  steps: StepStatus[];
  workflows: WorkflowStatus[];
  error?: string;
}

const num = (v: string | undefined) => (v ? Number(v) : 0);

export function isPending(record: Record<string, string>): boolean {
  return !record.enqueuedAt && !record.state;
}

function asState(v: string | undefined, fallback: EventState): EventState {
  return (EVENT_STATES as readonly string[]).includes(v ?? '') ? (v as EventState) : fallback;
}

function parseJson<T>(text: string | undefined, fallback: T): T {
  if (!text) return fallback;
  try {
    return JSON.parse(text) as T;
  } catch {
    return fallback;
  }
}

/**
 * The status of one event, or null if no delivery of it was ever accepted (a refused or
 * 503-answered delivery leaves at most a pending record with no deliveries: still "unknown").
 */
export async function readEventStatus(
  redis: RedisClient,
  keys: Keys,
  tag: string,
): Promise<EventStatus | null> {
  const record = await redis.hgetall(keys.event(tag));
  if (!record.source || num(record.deliveries) === 0) return null;

  const names = parseJson<string[]>(record.workflows, []);
  const workflows = await Promise.all(
    names.map(async (name): Promise<WorkflowStatus> => {
      const [run, markers] = await Promise.all([
        redis.hgetall(keys.workflowRun(tag, name)),
        redis.hgetall(keys.stepMarkers(tag, name)),
      ]);
      const stepNames = parseJson<string[]>(run.steps, Object.keys(markers));
      const steps = stepNames.map((step): StepStatus => {
        const marker = markers[step];
        if (marker === undefined) return { name: step, done: false };
        return { name: step, done: true, result: parseJson<{ result?: unknown }>(marker, {}).result };
      });
      return {
        name,
        state: asState(run.state, 'queued'),
        attempts: num(run.attempts),
        steps,
        ...(run.error ? { error: run.error } : {}),
      };
    }),
  );

  const single = workflows.length === 1;
  return {
    source: record.source,
    eventId: record.eventId ?? '',
    type: record.type ?? '',
    state: asState(record.state, record.enqueuedAt ? 'queued' : 'pending'),
    deliveries: num(record.deliveries),
    conflicts: num(record.conflicts),
    replays: num(record.replays),
    attempts: num(record.attempts),
    receivedAt: num(record.receivedAt),
    steps: workflows.flatMap((wf) =>
      wf.steps.map((s) => (single ? s : { ...s, name: `${wf.name}/${s.name}` })),
    ),
    workflows,
    ...(record.error ? { error: record.error } : {}),
  };
}
