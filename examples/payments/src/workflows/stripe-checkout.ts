import { z } from 'zod';
import { checkoutLedger, checkoutReceipt, checkoutSession, paidSession } from '../steps/checkout.ts';
import { validate } from '../steps/validate.ts';
import { defineWorkflow } from '../workflow.ts';

/** The parts of a Stripe `checkout.session.completed` snapshot event this workflow uses. */
const checkoutCompleted = z.object({ data: z.object({ object: checkoutSession }) });

/** Stripe Checkout paid: receipt to the customer, ledger entry of the session's total. */
export const stripeCheckout = defineWorkflow('stripe-checkout', {
  source: 'stripe',
  type: 'checkout.session.completed',
})
  .step(
    'validate',
    (event) => paidSession(validate(checkoutCompleted, event.body, 'checkout session').data.object),
    { pure: true },
  )
  .step('receipt', (_event, ctx) => checkoutReceipt(ctx, ctx.results.validate))
  .step('ledger', (event, ctx) => checkoutLedger(ctx, ctx.results.validate, event));
