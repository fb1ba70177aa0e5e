import { z } from 'zod';
import { charge } from '../steps/charge.ts';
import { currency, email, providerId } from '../steps/fields.ts';
import { appendToLedger } from '../steps/ledger.ts';
import { formatMoney } from '../steps/money.ts';
import { sendReceipt } from '../steps/send-receipt.ts';
import { validate } from '../steps/validate.ts';
import { defineWorkflow } from '../workflow.ts';

/** The demo source's body: `{ event_id, type, amount, currency, customer?, email? }`. */
const demoPayment = z.object({
  amount: z.number().int().positive().max(99_999_999),
  currency,
  customer: providerId.optional(),
  email: email.optional(),
});

const recipient = (p: z.output<typeof demoPayment>) =>
  p.email ?? `${(p.customer ?? 'customer').replace(/[^A-Za-z0-9._-]/g, '_')}@example.com`;

/** The seed's story: validate -> charge -> receipt -> ledger, each effect exactly once. */
export const payment = defineWorkflow('payment', { source: 'demo', type: 'payment.succeeded' })
  .step('validate', (event) => validate(demoPayment, event.body, 'payment'), { pure: true })
  .step('charge', (event, ctx) =>
    charge(ctx, {
      amount: ctx.results.validate.amount,
      currency: ctx.results.validate.currency,
      description: `oncehook demo payment ${event.eventId}`.slice(0, 1000),
      metadata: { source: event.source, event_id: event.eventId },
    }),
  )
  .step('receipt', (event, ctx) => {
    const { validate: paid, charge: payment } = ctx.results;
    const amount = formatMoney(paid.amount, paid.currency);
    return sendReceipt(ctx, {
      to: recipient(paid),
      subject: `Your receipt: ${amount}`,
      text: `We received your payment of ${amount} (payment ${payment.paymentId}, event ${event.eventId}).`,
    });
  })
  .step('ledger', (event, ctx) =>
    appendToLedger(
      ctx,
      {
        amount: ctx.results.validate.amount,
        currency: ctx.results.validate.currency,
        reference: ctx.results.charge.paymentId,
      },
      event,
    ),
  );
