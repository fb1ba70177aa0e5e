import type { WorkerStepContext } from '../services/index.ts';

/**
 * Stripe prunes idempotency keys after at least 24 hours. A charge first attempted longer ago than
 * this (a late retry, a replay of a failed job) looks its payment up by metadata before creating.
 */
export const LOOKUP_BEFORE_CHARGE_AFTER_MS = 23 * 60 * 60 * 1000;

export interface ChargeRequest {
  /** Minor units. */
  amount: number;
  currency: string;
  description: string;
  metadata?: Record<string, string>;
}

export interface ChargeResult {
  paymentId: string;
  amount: number;
  currency: string;
  status: string;
}

/** Charges once per event: the step's idempotency key goes in the request and in the metadata. */
export async function charge(
  ctx: WorkerStepContext,
  request: ChargeRequest,
  now = Date.now(),
): Promise<ChargeResult> {
  const { payments } = ctx.services;
  const key = ctx.idempotencyKey;
  const firstAttemptAt = await ctx.firstAttemptAt();
  if (now - firstAttemptAt > LOOKUP_BEFORE_CHARGE_AFTER_MS) {
    const found = await payments.findByIdempotencyKey(key);
    if (found) {
      ctx.log.info({ paymentId: found.id, idempotencyKey: key }, 'charge: found the earlier payment');
      return {
        paymentId: found.id,
        amount: found.amount,
        currency: found.currency.toUpperCase(),
        status: found.status,
      };
    }
  }
  const payment = await payments.create({
    amount: request.amount,
    currency: request.currency,
    idempotencyKey: key,
    description: request.description,
    metadata: request.metadata ?? {},
  });
  ctx.log.info(
    { paymentId: payment.id, idempotencyKey: key, attempt: ctx.attempt, replayed: payment.replayed },
    payment.replayed
      ? `charge: the payments API returned the existing payment ${payment.id}`
      : `charge: payment ${payment.id} (attempt ${ctx.attempt})`,
  );
  return {
    paymentId: payment.id,
    amount: payment.amount,
    currency: payment.currency.toUpperCase(),
    status: payment.status,
  };
}
