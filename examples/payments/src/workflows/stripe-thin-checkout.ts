import { thinEventType } from '@oncehook/worker';
import { checkoutLedger, checkoutReceipt, checkoutSession, paidSession } from '../steps/checkout.ts';
import { validate } from '../steps/validate.ts';
import { defineWorkflow } from '../workflow.ts';

/**
 * Stripe Checkout paid, told by a thin event: it names the session, it does not carry it. The
 * session is fetched through the Stripe SDK before anything else; receipt and ledger follow as for
 * the snapshot event (stripe-checkout.ts), with their own idempotency keys.
 *
 * `fetch` keeps no marker (pure): it has no effect, and what it reads of a completed session (its
 * total, currency and customer e-mail) no longer changes, so running it again on a later attempt
 * returns the same; the steps after it keep their markers small.
 */
export const stripeThinCheckout = defineWorkflow('stripe-thin-checkout', {
  source: 'stripe',
  type: thinEventType('v1.checkout.session.completed'),
})
  .step(
    'fetch',
    async (event, ctx) =>
      paidSession(
        validate(
          checkoutSession,
          await ctx.services.stripeObjects.relatedObject(event.payload),
          'checkout session',
        ),
      ),
    { pure: true },
  )
  .step('receipt', (_event, ctx) => checkoutReceipt(ctx, ctx.results.fetch))
  .step('ledger', (event, ctx) => checkoutLedger(ctx, ctx.results.fetch, event));
