import { z } from 'zod';

/** What the ingest puts on the `events` queue: the first body ever accepted for the event. */
export const eventJobSchema = z.object({
  source: z.string(),
  eventId: z.string(),
  type: z.string(),
  /** The raw JSON body of the first delivery, exactly as signed. */
  payload: z.string(),
  receivedAt: z.number(),
});

export type EventJob = z.infer<typeof eventJobSchema>;
