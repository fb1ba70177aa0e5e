import { z } from 'zod';
import type { WorkerStepContext } from '../services/index.ts';
import { currency, email, providerId } from './fields.ts';
import { appendToLedger } from './ledger.ts';
import { formatMoney } from './money.ts';
import { sendReceipt } from './send-receipt.ts';

/**
 * A paid Stripe Checkout session, whichever way it arrived: inside a snapshot event's body, or
 * fetched for a thin event. Only what the receipt and the ledger use.
 */
export const checkoutSession = z.object({
  id: providerId,
  amount_total: z.number().int().nonnegative().max(99_999_999_999),
  currency,
  customer_details: z.object({ email: email.nullish() }).nullish(),
});

export interface PaidSession {
  sessionId: string;
  amount: number;
  currency: string;
  email: string | null;
}

export const paidSession = (session: z.output<typeof checkoutSession>): PaidSession => ({
  sessionId: session.id,
  amount: session.amount_total,
  currency: session.currency,
  email: session.customer_details?.email ?? null,
});

/** The receipt to the customer, once. */
export function checkoutReceipt(ctx: WorkerStepContext, { sessionId, amount, currency, email }: PaidSession) {
  const total = formatMoney(amount, currency);
  return sendReceipt(
    ctx,
    email
      ? {
          to: email,
          subject: `Your receipt: ${total}`,
          text: `Thank you for your order of ${total} (${sessionId}).`,
        }
      : null,
  );
}

/** The ledger entry of the session's total, once. */
export const checkoutLedger = (
  ctx: WorkerStepContext,
  { sessionId, amount, currency }: PaidSession,
  event: { source: string; eventId: string },
) => appendToLedger(ctx, { amount, currency, reference: sessionId }, event);
