import { PermanentError } from '@oncehook/worker';
import { charge } from '../../examples/payments/src/steps/charge.ts';
import { sendReceipt } from '../../examples/payments/src/steps/send-receipt.ts';
import { defineWorkflow } from '../../examples/payments/src/workflow.ts';

/**
 * The chaos run's own workflows, on the custom source `chaos` (sources.ts), beside the built-in
 * ones. Two event types, each fanned out to two workflows:
 *
 *   account.updated  chaos-mirror (ordered by account) + chaos-notify
 *   invoice.paid     chaos-bill + chaos-notify, and forwarded to the destination chaos-forward
 *
 * Every effect is countable from outside: emails and charges by the fake APIs' idempotency keys,
 * the mirror's and the book's entries in Redis, and each ordered run's span by the probe.
 */
export const CHAOS_SOURCE = 'chaos';
/** Where the invoices are forwarded too (a destination: topology.ts), beside their two workflows. */
export const FORWARD_DESTINATION = 'chaos-forward';

/** The Redis keys these workflows write (each step's keys share one hash tag). */
export const chaosKeys = (prefix: string) => ({
  /** The account's applied events, in the order they were applied. */
  applied: (account: string) => `${prefix}:chaos:{acct-${account}}:applied`,
  /** Every invoice booked. */
  book: `${prefix}:chaos:{book}`,
});

const field = (body: unknown, path: string[]): unknown =>
  path.reduce<unknown>(
    (at, key) => (typeof at === 'object' && at !== null ? (at as Record<string, unknown>)[key] : undefined),
    body,
  );

function accountOf(body: unknown): { account: string } {
  const account = field(body, ['data', 'account']);
  if (typeof account !== 'string' || account === '') throw new PermanentError('no data.account');
  return { account };
}

function amountOf(body: unknown): { amount: number } {
  const amount = field(body, ['data', 'amount']);
  if (typeof amount !== 'number' || !Number.isSafeInteger(amount) || amount <= 0)
    throw new PermanentError('no data.amount');
  return { amount };
}

export function chaosWorkflows({ prefix, probeUrl }: { prefix: string; probeUrl: string }) {
  const keys = chaosKeys(prefix);

  const mirror = defineWorkflow('chaos-mirror', { source: CHAOS_SOURCE, type: 'account.updated' })
    .orderedBy()
    .step('validate', (event) => accountOf(event.body), { pure: true })
    .step('apply', async (event, ctx) => {
      const { account } = ctx.results.validate;
      // The probe counts the runs of one account in flight at once: an ordered run holds it a while.
      const hold = new URL('/hold', probeUrl);
      hold.search = new URLSearchParams({
        key: account,
        event: event.eventId,
        pid: String(process.pid),
      }).toString();
      await (await fetch(hold, { signal: AbortSignal.timeout(15_000) })).text();
      // Through the payments API, so that its outages fail ordered runs too (and the fake API
      // counts the requests per account in flight).
      await ctx.services.subscriptions.retrieve(account);
      ctx.writes.rpush(keys.applied(account), event.eventId);
      return { applied: true };
    });

  const notify = defineWorkflow('chaos-notify', [
    { source: CHAOS_SOURCE, type: 'account.updated' },
    { source: CHAOS_SOURCE, type: 'invoice.paid' },
  ]).step('mail', (event, ctx) =>
    sendReceipt(ctx, { to: 'ops@example.com', subject: event.type, text: `chaos event ${event.eventId}` }),
  );

  const bill = defineWorkflow('chaos-bill', { source: CHAOS_SOURCE, type: 'invoice.paid' })
    .step('validate', (event) => amountOf(event.body), { pure: true })
    .step('charge', (event, ctx) =>
      charge(ctx, {
        amount: ctx.results.validate.amount,
        currency: 'usd',
        description: `chaos invoice ${event.eventId}`,
        metadata: { source: event.source, event_id: event.eventId },
      }),
    )
    .step('book', (event, ctx) => {
      ctx.writes.rpush(keys.book, event.eventId);
      return { booked: true };
    });

  return [mirror, notify, bill];
}
