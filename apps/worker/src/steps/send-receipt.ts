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
