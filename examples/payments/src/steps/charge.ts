import type { WorkerStepContext } from '../services/index.ts';
import { earlierEffect } from './late-lookup.ts';

export interface ChargeRequest {
  /** Minor units. */
  amount: number;
  currency: string;
  description: string;
  metadata?: Record<string, string>;
}

/**
 * What the step keeps with its marker: what later steps need, and short — a marker under 64 bytes
 * keeps the event's hash in Redis's compact encoding (the amount is in the event).
 */
export interface ChargeResult {
  paymentId: string;
}

/**
 * Charges once per event: the step's idempotency key goes in the request and in the metadata, so a
 * late attempt (past the API's key memory) finds the payment by its metadata instead.
 */
export async function charge(ctx: WorkerStepContext, request: ChargeRequest): Promise<ChargeResult> {
  const { payments } = ctx.services;
  const key = ctx.idempotencyKey;
  const found = await earlierEffect(ctx, (k) => payments.findByIdempotencyKey(k));
  if (found) {
    ctx.log.info({ paymentId: found.id, idempotencyKey: key }, 'charge: found the earlier payment');
    return { paymentId: found.id };
  }
  const payment = await payments.create({
    amount: request.amount,
    currency: request.currency,
    idempotencyKey: key,
    description: request.description,
    metadata: request.metadata ?? {},
  });
  ctx.log.info(
    { paymentId: payment.id, idempotencyKey: key, attempt: ctx.attempt, reused: payment.reused },
    payment.reused
      ? `charge: the payments API returned the existing payment ${payment.id}`
      : `charge: payment ${payment.id} (attempt ${ctx.attempt})`,
  );
  return { paymentId: payment.id };
}
