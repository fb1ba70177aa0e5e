import { eventTag, type Keys, type RedisClient } from '@oncehook/shared';
import { defineWorkflow } from '../engine/define-workflow.ts';
import { DeferredError } from '../engine/errors.ts';
import {
  PermanentError,
  type StepContext,
  type WorkflowDefinition,
  type WorkflowEvent,
} from '../engine/workflow.ts';
import type { WorkerMetrics } from '../observability/metrics.ts';
import type { Destination } from './destinations-file.ts';
import { leavePlace, takePlace, waitsUntil } from './limits.ts';
import { logRequest } from './request-log.ts';
import { type Sent, send } from './send.ts';

export interface ForwardDeps {
  redis: RedisClient;
  keys: Keys;
  /** The first retry's delay (BACKOFF_MS); it doubles with each failed request, up to an hour. */
  backoffMs: number;
  metrics?: WorkerMetrics | undefined;
}

const HOUR = 3_600_000;
// Answers that say "later": the service is busy, or not ready for this event yet.
const LATER = new Set([408, 409, 425, 429]);

/**
 * A destination is a workflow like any other, of one step: its own job, marker, retries, dead
 * letters, replay and /status entry, beside the event's other workflows. The step's idempotency
 * key and `webhook-id` are the same on every request, so a request repeated after a lost answer
 * is one the receiver recognises.
 */
export function destinationWorkflow(d: Destination, deps: ForwardDeps): WorkflowDefinition<unknown> {
  const on = d.sources.flatMap((source) => d.types.map((type) => ({ source, type })));
  const workflow = defineWorkflow<unknown>(d.name, on).step('deliver', (event, ctx) =>
    deliver(d, deps, event, ctx),
  );
  return d.ordered ? workflow.orderedBy() : workflow;
}

/**
 * One request. Delivered (2xx): the request is the step's result. Over a limit, or answered
 * "later" (no answer, 5xx, 408, 409, 425, 429): the run waits without using an attempt
 * (DeferredError) until its next request, for at least `retryForHours` from the first failed one.
 * Anything else (3xx, other 4xx): failed at once, a dead letter to replay once the service is fixed.
 */
async function deliver(d: Destination, deps: ForwardDeps, event: WorkflowEvent, ctx: StepContext) {
  const { redis, keys, metrics } = deps;
  const waiting = { tag: eventTag(event.source, event.eventId), receivedAt: event.receivedAt };
  const limited = d.maxInFlight !== undefined || d.ratePerSecond !== undefined;
  const place = limited ? await takePlace(redis, keys, d, waiting) : undefined;
  if (place && 'waitMs' in place)
    throw new DeferredError(`waiting for a place within ${d.name}'s limits`, Date.now() + place.waitMs);
  metrics?.destinationInFlight.inc({ destination: d.name });
  let sent: Sent;
  try {
    sent = await send(d, event, ctx.idempotencyKey);
  } finally {
    metrics?.destinationInFlight.dec({ destination: d.name });
    if (place) await leavePlace(redis, keys, d, place.token);
  }
  const { retryAfterMs, ...request } = sent;
  if (sent.status >= 200 && sent.status < 300) {
    metrics?.destinationRequest(d.name, 'delivered', sent);
    return request;
  }
  const window = await logRequest(redis, keys, waiting.tag, {
    gen: event.receivedAt,
    destination: d.name,
    request,
  });
  const later = sent.status === 0 || sent.status >= 500 || LATER.has(sent.status);
  const retried = later && Date.now() < window.start + d.retryForHours * HOUR;
  metrics?.destinationRequest(d.name, retried ? 'retried' : 'failed', sent);
  const answered = sent.status === 0 ? `no answer (${sent.error})` : `answered ${sent.status}`;
  if (!later) throw new PermanentError(`${d.name} ${answered}: not retried (fix it, then replay)`);
  if (!retried) throw new PermanentError(`${d.name} ${answered}; retried for ${d.retryForHours} h: given up`);
  // Exponential from BACKOFF_MS, at most an hour, half of it jitter; a Retry-After is honoured, capped.
  const backoff = Math.min(HOUR, deps.backoffMs * 2 ** (window.failures - 1)) * (0.5 + Math.random() / 2);
  const until = Date.now() + Math.max(backoff, Math.min(retryAfterMs, HOUR));
  await waitsUntil(redis, keys, d, waiting, until);
  throw new DeferredError(`${d.name} ${answered}: next request ${new Date(until).toISOString()}`, until);
}
