import { z } from 'zod';

/** What the ingest puts on the `events` queue: the first body ever accepted for the event. */
export const eventJobSchema = z.object({
  source: z.string(),
  eventId: z.string(),
  type: z.string(),
  /** The raw JSON body of the first delivery, exactly as signed. */
  payload: z.string(),
  receivedAt: z.number(),
  /** The source's dedupe window (seconds), as the ingest decided it: the worker has no rule of its own. */
  windowSeconds: z.number().int().positive(),
});

export type EventJob = z.infer<typeof eventJobSchema>;

/**
 * What the worker's dispatcher puts on the `workflows` queue: one job per workflow registered for
 * the event's type, so that each retries and fails on its own.
 */
export const workflowJobSchema = eventJobSchema.extend({
  workflow: z.string(),
  /** Every workflow of the event, in order: the event's state is the aggregate of their runs. */
  workflows: z.array(z.string()),
  /** When the event record expires (ms epoch): the worker's keys for the event expire with it. */
  expiresAt: z.number(),
});

export type WorkflowJob = z.infer<typeof workflowJobSchema>;
