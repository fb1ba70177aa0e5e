import { z } from 'zod';

/** What the ingest puts on the `events` queue: the first body ever accepted for the event. */
export const eventJobSchema = z.object({
  source: z.string(),
  eventId: z.string(),
  type: z.string(),
  /** The raw JSON body of the first delivery, exactly as signed. */
  payload: z.string(),
  /** The first delivery's time: also the record's generation (keys.ts). */
  receivedAt: z.number().int(),
  /** The source's dedupe window (seconds), as the ingest decided it: the worker has no rule of its own. */
  windowSeconds: z.number().int().positive(),
  /** The provider's ordering key and creation time (ordering.ts); absent: the event has none. */
  order: z.object({ key: z.string(), at: z.number() }).optional(),
  /** The delivery's Content-Type (forwarding sends the body on with it); absent: application/json. */
  contentType: z.string().optional(),
  /** The body's bytes as delivered (base64), where `payload` is not them: a form-encoded delivery. */
  rawBody: z.string().optional(),
});

export type EventJob = z.infer<typeof eventJobSchema>;

/**
 * What the worker puts on the `workflows` queue when an event has several workflows: one job per
 * workflow, so that each retries and fails on its own. (An event with one workflow runs it in its
 * `events` job.)
 */
export const workflowJobSchema = eventJobSchema.extend({
  workflow: z.string(),
  /** Every workflow of the event: a record recreated by this job lists them all. */
  workflows: z.array(z.string()).optional(),
});

export type WorkflowJob = z.infer<typeof workflowJobSchema>;

/**
 * Job ids. They carry the record's generation, so that a job left over from an earlier generation
 * of the same event id (kept as a dead letter after its record expired) never stands in for the
 * job of a newer delivery.
 */
export const eventJobId = (tag: string, gen: number) => `${tag}.${gen.toString(36)}`;
export const workflowJobId = (tag: string, gen: number, workflow: string) =>
  `${eventJobId(tag, gen)}.${workflow}`;
