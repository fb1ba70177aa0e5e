import type { WorkerStepContext } from '../services/index.ts';
import type { Email } from '../services/mailer.ts';
import { earlierEffect } from './late-lookup.ts';

// Short, like every marker (see charge.ts): the recipient is in the event.
export type ReceiptResult = { emailId: string } | { skipped: string };

/**
 * Sends one email per event: the step's idempotency key goes to the mail API, and a late attempt
 * (past the API's key memory) looks the email up by that key before sending.
 */
export async function sendReceipt(ctx: WorkerStepContext, email: Email | null): Promise<ReceiptResult> {
  if (!email) return { skipped: 'no recipient' };
  const earlier = await earlierEffect(ctx, (k) => ctx.services.mailer.findByIdempotencyKey(k));
  if (earlier) {
    ctx.log.info({ emailId: earlier.id }, 'receipt: found the email sent on an earlier attempt');
    return { emailId: earlier.id };
  }
  const sent = await ctx.services.mailer.send(email, ctx.idempotencyKey);
  ctx.log.info({ emailId: sent.id, to: email.to, reused: sent.reused }, 'receipt sent');
  return { emailId: sent.id };
}
