import { type EventJob, laneTag, type OrderingKey } from '@oncehook/shared';
import { eventView } from './run-workflow.ts';
import type { WorkflowDefinition, WorkflowEvent } from './workflow.ts';

/** Where one job stands in one lane. */
export interface Seat {
  source: string;
  lane: string;
  /** `<arrival, zero-padded> <the event's job id>`: provider-time ties go by arrival. */
  member: string;
  /** Provider time (ms), or arrival. */
  score: number;
  /** What a person reads, and what the record keeps while parked: `<workflow> <ordering key>`. */
  label: string;
}

/**
 * The seat of an event's job in its workflow's lane, or null when the workflow is not ordered or
 * the event has no ordering key (it then runs at once, with no lane and no extra round trip).
 */
export function seatFor(
  workflow: Pick<WorkflowDefinition<unknown>, 'name' | 'ordered'> | undefined,
  event: EventJob,
  jobId: string,
): Seat | null {
  const ordered = workflow?.ordered;
  if (!ordered) return null;
  const order = ordered === true ? event.order : ownKey(ordered, event);
  if (!order) return null;
  return {
    source: event.source,
    lane: laneTag(event.source, workflow.name, order.key),
    member: `${String(event.receivedAt).padStart(15, '0')} ${jobId}`,
    score: order.at ?? event.receivedAt,
    label: `${workflow.name} ${order.key}`,
  };
}

/** The lane a record's parked mark (`<workflow> <ordering key>`) names. */
export function laneOfLabel(source: string, label: string): string {
  const space = label.indexOf(' ');
  return laneTag(source, label.slice(0, space), label.slice(space + 1));
}

function ownKey(by: (event: WorkflowEvent) => OrderingKey | null, event: EventJob): OrderingKey | null {
  let body: unknown;
  try {
    body = JSON.parse(event.payload);
  } catch {
    return null;
  }
  return by(eventView(event, body));
}
