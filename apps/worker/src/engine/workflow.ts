import type { Logger, OrderingKey } from '@oncehook/shared';

/**
 * The workflow/step vocabulary. The worker runs these; nothing here knows about BullMQ.
 *
 * A workflow is a named list of steps registered for one or more (source, event type) pairs. A
 * step is a plain async function of the event and a context; its result is stored with its
 * completion marker and handed to the steps after it, on this attempt and on every later one.
 */

/** What every step receives: the event as the ingest accepted it (the first body wins). */
export interface WorkflowEvent {
  readonly source: string;
  readonly eventId: string;
  readonly type: string;
  /** The raw JSON body of the first delivery, exactly as signed. */
  readonly payload: string;
  /** `payload`, parsed. */
  readonly body: unknown;
  readonly receivedAt: number;
  /** The body's bytes exactly as delivered (a form-encoded delivery's `payload` is its fields' JSON). */
  readonly rawBody: Buffer;
  /** The delivery's Content-Type. */
  readonly contentType: string;
}

/**
 * A step's own Redis writes. They are not sent when called: the engine commits them in one script
 * together with the step's completion marker, and only if no run of this step committed before
 * (two runs of one job at once still write once). All keys of one step must share a Redis Cluster
 * hash slot (the same `{...}` tag).
 */
export interface StepWrites {
  rpush(key: string, ...values: string[]): void;
  ltrim(key: string, start: number, stop: number): void;
  hincrby(key: string, field: string, by: number): void;
  hset(key: string, field: string, value: string): void;
  incrby(key: string, by: number): void;
  sadd(key: string, ...members: string[]): void;
}

export interface StepContext<Services = unknown, Results = Record<string, unknown>> {
  readonly workflow: string;
  readonly step: string;
  /**
   * Stable for this (source, event id, workflow, step) across attempts, workers and replays; at most
   * 255 printable ASCII characters (Stripe's limit). Pass it to every external API the step calls.
   */
  readonly idempotencyKey: string;
  /** 1 on the first attempt of the workflow job. */
  readonly attempt: number;
  /** The results of the steps before this one, fresh or from their markers. */
  readonly results: Readonly<Results>;
  readonly writes: StepWrites;
  readonly services: Services;
  readonly log: Logger;
  /**
   * When this step was first attempted for this event (ms epoch), remembered across retries,
   * workers and replays. The first call records "now".
   */
  firstAttemptAt(): Promise<number>;
}

export type StepFn<Services, Results, Out> = (
  event: WorkflowEvent,
  ctx: StepContext<Services, Results>,
) => Out | Promise<Out>;

export interface StepDefinition<Services = unknown> {
  readonly name: string;
  /**
   * No effect, and the same result from the same event every time (parsing, validating): it gets no
   * marker and is simply run again on a later attempt, which saves a write per event.
   */
  readonly pure?: boolean;
  // Method syntax on purpose: each step sees a narrower `results` type than the list holds.
  run(event: WorkflowEvent, ctx: StepContext<Services, Record<string, unknown>>): unknown;
}

export interface WorkflowTrigger {
  readonly source: string;
  readonly type: string;
}

/**
 * Per-object ordering: the runs of this workflow for one ordering key never overlap, and start in
 * the provider's order (lanes.ts). `true` takes the key the provider module declared (the job's
 * `order`); a function declares the workflow's own (null: this event has none and runs at once).
 */
export type Ordering = true | ((event: WorkflowEvent) => OrderingKey | null);

export interface WorkflowDefinition<Services = unknown> {
  readonly name: string;
  readonly on: readonly WorkflowTrigger[];
  readonly steps: readonly StepDefinition<Services>[];
  readonly ordered?: Ordering;
}

/**
 * Thrown by a step when retrying cannot help (bad data, a refused card): the workflow fails at
 * once instead of using up its attempts.
 */
export class PermanentError extends Error {
  override name = 'PermanentError';
}

/** Workflow and step names: they appear in job ids, Redis keys and idempotency keys. */
export const WORKFLOW_NAME = /^[a-z0-9][a-z0-9_-]{0,47}$/;
export const STEP_NAME = /^[a-z0-9][a-z0-9_-]{0,47}$/;
