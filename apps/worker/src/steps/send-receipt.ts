import type { WorkerStepContext } from '../services/index.ts';
import type { Email } from '../services/mailer.ts';

export type ReceiptResult = { emailId: string; to: string } | { skipped: string };

/** Sends one email per event (the step's idempotency key goes to the mail API). */
export async function sendReceipt(ctx: WorkerStepContext, email: Email | null): Promise<ReceiptResult> {
  if (!email) return { skipped: 'no recipient' };
  const sent = await ctx.services.mailer.send(email, ctx.idempotencyKey);
  ctx.log.info({ emailId: sent.id, to: email.to, replayed: sent.replayed }, 'receipt sent');
  return { emailId: sent.id, to: email.to };
}

/** "$49.99" for 4999 USD, "¥500" for 500 JPY: minor units in the currency's own exponent. */
export function formatMoney(amount: number, currency: string): string {
  try {
    const format = new Intl.NumberFormat('en-US', { style: 'currency', currency });
    const digits = format.resolvedOptions().maximumFractionDigits ?? 2;
    return format.format(amount / 10 ** digits);
  } catch {
    return `${amount} ${currency} (minor units)`;
  }
}
