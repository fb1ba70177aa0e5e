import { createHash } from 'node:crypto';
import type { DestinationRequest } from '@oncehook/shared';
import type { WorkflowEvent } from '../engine/workflow.ts';
import type { Destination } from './destinations-file.ts';

/** What one request got (as /status shows it), and the answer's Retry-After in ms (0: none). */
export type Sent = DestinationRequest & { retryAfterMs: number };

const ANSWER_BYTES = 512;

/**
 * `webhook-id`: the same for every request of one event to one destination (retries, replays,
 * re-deliveries), so that the receiver dedupes on it; free of `.`, which the signed string uses.
 */
export const webhookId = (source: string, eventId: string, destination: string) =>
  `msg_${createHash('sha256')
    .update(JSON.stringify([source, eventId, destination]))
    .digest('base64url')}`;

/**
 * POSTs the event's body as delivered, with its Content-Type, signed the Standard Webhooks way with
 * the destination's secret. Redirects are answers, not followed: a moved endpoint is a fault to fix.
 */
export async function send(d: Destination, event: WorkflowEvent, idempotencyKey: string): Promise<Sent> {
  const id = webhookId(event.source, event.eventId, d.name);
  const body = event.rawBody;
  const now = new Date();
  const headers = {
    'content-type': event.contentType,
    'webhook-id': id,
    'webhook-timestamp': String(Math.floor(now.getTime() / 1000)),
    'webhook-signature': d.signer.sign(id, now, body),
    'idempotency-key': idempotencyKey,
    'x-oncehook-source': event.source,
    'x-oncehook-event-type': headerValue(event.type),
    'x-oncehook-event-id': headerValue(event.eventId),
    'user-agent': 'oncehook',
  };
  const began = performance.now();
  const at = Date.now();
  const ms = () => Math.round(performance.now() - began);
  try {
    const res = await fetch(d.url, {
      method: 'POST',
      headers,
      body,
      redirect: 'manual',
      signal: AbortSignal.timeout(d.timeoutMs),
    });
    const answer = await firstBytes(res);
    return {
      at,
      status: res.status,
      ms: ms(),
      answer,
      retryAfterMs: retryAfter(res.headers.get('retry-after')),
    };
  } catch (err) {
    return { at, status: 0, ms: ms(), error: failure(err, d.timeoutMs), retryAfterMs: 0 };
  }
}

/** Ids and types are printable Unicode; a header carries Latin-1 only: others go percent-encoded. */
const headerValue = (v: string) => (/^[\x20-\x7e]*$/.test(v) ? v : encodeURIComponent(v));

/** The answer's first bytes, for the record; the rest is not read (the connection is then dropped). */
async function firstBytes(res: Response): Promise<string> {
  let head = Buffer.alloc(0);
  // Leaving the loop early cancels the body.
  for await (const chunk of (res.body ?? []) as AsyncIterable<Uint8Array>) {
    head = Buffer.concat([head, chunk]);
    if (head.length >= ANSWER_BYTES) break;
  }
  return head.subarray(0, ANSWER_BYTES).toString('utf8');
}

/** Retry-After: seconds, or an HTTP date. */
function retryAfter(value: string | null): number {
  if (!value) return 0;
  const ms = /^\d+$/.test(value) ? Number(value) * 1000 : Date.parse(value) - Date.now();
  return Number.isFinite(ms) ? Math.max(0, ms) : 0;
}

function failure(err: unknown, timeoutMs: number): string {
  if (err instanceof Error && err.name === 'TimeoutError') return `no answer within ${timeoutMs} ms`;
  const cause = (err as { cause?: { code?: string; message?: string } }).cause;
  return cause?.code ?? cause?.message ?? (err instanceof Error ? err.message : String(err));
}
