import { aggregate } from './event-aggregate.ts';
import { parseTag } from './event-tag.ts';
import { eventJobId, workflowJobId } from './jobs.ts';
import { EVENT_FIELDS, type Keys } from './keys.ts';
import type { RedisClient } from './redis.ts';

/**
 * The status of an event, read from its hash (keys.ts draws the fields). Where the hash and the
 * event's jobs disagree — a worker died before it could write `retrying`, a job was removed by
 * hand — the job wins for the states a job knows (queued, processing, retrying, failed).
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

/** One request to a destination (forwarding): when, its answer's status (0: none), how long. */
export interface DestinationRequest {
  at: number;
  status: number;
  ms: number;
  /** The first 512 bytes of the answer, or why there was none. */
  answer?: string;
  error?: string;
}

export interface WorkflowStatus {
  name: string;
  state: EventState;
  attempts: number;
  steps: StepStatus[];
  error?: string;
  /** A destination's requests that did not deliver, the last 20, oldest first. */
  requests?: DestinationRequest[];
}

export interface EventStatus {
  source: string;
  eventId: string;
  type: string;
  state: EventState;
  deliveries: number;
  conflicts: number;
  /** Copies: deliveries of this event's signed body under another event id (providers.md). */
  copies: number;
  /** Times an operator replayed the event (admin API, the replay CLI). */
  replays: number;
  attempts: number;
  receivedAt: number;
  steps: StepStatus[];
  workflows: WorkflowStatus[];
  error?: string;
  /** Parked in an ordering lane: the event it waits for runs first (`<workflow> <ordering key>`). */
  waitingBehind?: string;
}

/**
 * BullMQ's name for a job's state (`waiting`, `active`, `delayed`, `failed`, …), or null if none.
 * `partitions`: the queue layout the event was enqueued under (its record's `q`).
 */
export type JobStateLookup = (
  jobId: string,
  queue: 'events' | 'workflows',
  partitions: number,
) => Promise<string | null>;

const FINAL = new Set<string>(['completed', 'failed', 'ignored']);

/**
 * A step result larger than this is shown as its size only: with ids and types at most 256
 * characters and errors at most 1,000, a status answer stays within steps x 16 KiB.
 */
export const STATUS_RESULT_MAX_CHARS = 16 * 1024;

function shownResult(json: string) {
  if (json.length > STATUS_RESULT_MAX_CHARS) return { truncated: true, bytes: Buffer.byteLength(json) };
  try {
    return JSON.parse(json) as unknown;
  } catch {
    return null;
  }
}

const num = (v: string | undefined) => (v ? Number(v) : 0);

/** A destination's request log (`h:<wf>`): one JSON object per line. */
export const destinationRequests = (log: string): DestinationRequest[] =>
  log.split('\n').map((line) => JSON.parse(line) as DestinationRequest);

/** Workflow and step names never contain commas: the record keeps lists as 'a,b,c'. */
const list = (v: string | undefined) => (v ? v.split(',') : []);

function asState(v: string | undefined, fallback: EventState): EventState {
  return (EVENT_STATES as readonly string[]).includes(v ?? '') ? (v as EventState) : fallback;
}

/** What a job's state says about the run it carries; null when the job says nothing new. */
const FROM_JOB: Record<string, EventState> = {
  active: 'processing',
  delayed: 'retrying',
  waiting: 'queued',
  prioritized: 'queued',
  'waiting-children': 'queued',
  failed: 'failed',
};
const fromJob = (jobState: string | null): EventState | null => (jobState && FROM_JOB[jobState]) || null;

/**
 * The status of one event, or null if no delivery of it was ever accepted (a refused or
 * 503-answered delivery leaves nothing, or at most a pending record with no deliveries).
 */
export async function readEventStatus(
  redis: RedisClient,
  keys: Keys,
  tag: string,
  jobState?: JobStateLookup,
): Promise<EventStatus | null> {
  const record = await redis.hgetall(keys.event(tag));
  if (!record.receivedAt || num(record.deliveries) === 0) return null;
  const gen = num(record.receivedAt);
  const names = list(record.workflows);
  const eventJob = eventJobId(tag, gen);
  const partitions = num(record.q) || 1;
  // Parked in its ordering lane: its job waits `delayed` until the lane comes to it.
  const parked = record[EVENT_FIELDS.waitingBehind] !== undefined;

  const workflows = await Promise.all(
    names.map(async (name): Promise<WorkflowStatus> => {
      const stepNames = list(record[EVENT_FIELDS.runSteps(name)]);
      // A step without a marker (a pure one: no effect, run again on every attempt) has run if a
      // later step has a marker, or the run completed.
      const completed = record[EVENT_FIELDS.runState(name)] === 'completed';
      const markers = stepNames.map((step) => record[EVENT_FIELDS.marker(name, step)]);
      const lastMarked = markers.findLastIndex((m) => m !== undefined);
      const steps = stepNames.map((step, i): StepStatus => {
        const marker = markers[i];
        if (marker !== undefined) return { name: step, done: true, result: shownResult(marker) };
        return { name: step, done: completed || i < lastMarked };
      });
      let state = asState(record[EVENT_FIELDS.runState(name)], 'queued');
      let error = record[EVENT_FIELDS.runError(name)];
      // One workflow runs in the event's own job; several each in their own.
      if (!FINAL.has(state) && jobState) {
        let job = await (names.length === 1
          ? jobState(eventJob, 'events', partitions)
          : jobState(workflowJobId(tag, gen, name), 'workflows', partitions));
        // Its job not added yet: the event's own job hands it out, and may have failed doing so.
        if (job === null && names.length > 1 && state === 'queued')
          job = (await jobState(eventJob, 'events', partitions)) === 'failed' ? 'failed' : null;
        // A run a worker started cannot go on without its job (removed by hand, lost with a Redis).
        if (job === null && (state === 'processing' || state === 'retrying')) {
          state = 'failed';
          error = 'its job is gone (removed by hand, or lost): replay the event to run it';
        } else if (job === 'delayed' && parked) state = 'queued';
        else state = fromJob(job) ?? state;
      }
      const requests = record[EVENT_FIELDS.requests(name)];
      return {
        name,
        state,
        attempts: num(record[EVENT_FIELDS.runAttempts(name)]),
        steps,
        ...(error ? { error } : {}),
        ...(requests ? { requests: destinationRequests(requests) } : {}),
      };
    }),
  );

  let state = asState(record.state, 'pending');
  if (workflows.length > 0) state = aggregate(workflows.map((wf) => wf.state));
  else if (!FINAL.has(state) && jobState) {
    const job = await jobState(eventJob, 'events', partitions);
    state = job === 'delayed' && parked ? 'queued' : (fromJob(job) ?? state);
  }
  // Parked: queued, and behind what.
  const behind = record[EVENT_FIELDS.waitingBehind];
  const waitingBehind = behind && !FINAL.has(state) ? behind : undefined;
  if (waitingBehind && state === 'pending') state = 'queued';

  const single = workflows.length === 1;
  return {
    ...parseTag(tag),
    type: record.type ?? '',
    state,
    deliveries: num(record.deliveries),
    conflicts: num(record.conflicts),
    // The record's own names predate the API's: `replays` holds copies, `reruns` replays.
    copies: num(record.replays),
    replays: num(record.reruns),
    attempts: Math.max(0, ...workflows.map((wf) => wf.attempts)),
    receivedAt: gen,
    steps: workflows.flatMap((wf) =>
      wf.steps.map((s) => (single ? s : { ...s, name: `${wf.name}/${s.name}` })),
    ),
    workflows,
    ...(record.error ? { error: record.error } : {}),
    ...(waitingBehind ? { waitingBehind } : {}),
  };
}
