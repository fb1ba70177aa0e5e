import { z } from 'zod';
import { subscriptionState } from '../services/stripe-subscriptions.ts';
import { freshness, staleResult } from '../steps/mirror.ts';
import { validate } from '../steps/validate.ts';
import { SUBSCRIPTION_FIELDS } from '../subscriptions.ts';
import { defineWorkflow } from '../workflow.ts';

const subscriptionEvent = z.object({
  created: z.number().int().positive(),
  data: z.object({ object: z.object({ id: z.string().min(1), status: z.string() }).passthrough() }),
});

/**
 * Keeps each Stripe subscription's status, current period end and cancel_at in Redis (GET
 * /demo/subscriptions/:id). Ordered by subscription: its events run one at a time, by `created`.
 * An event older than the version applied is skipped (`skipped: stale`); one created in the same
 * second as it is not trusted either way: the subscription is fetched from Stripe instead.
 */
export const subscriptionMirror = defineWorkflow(
  'subscription-mirror',
  ['created', 'updated', 'deleted'].map((what) => ({
    source: 'stripe',
    type: `customer.subscription.${what}`,
  })),
)
  .orderedBy()
  .step(
    'validate',
    (event) => {
      const e = validate(subscriptionEvent, event.body, 'subscription event');
      return { version: e.created * 1000, snapshot: subscriptionState(e.data.object) };
    },
    { pure: true },
  )
  .step('apply', async (event, ctx) => {
    const { version, snapshot } = ctx.results.validate;
    const { subscriptions, keys } = ctx.services;
    const key = keys.demoSubscription(snapshot.id);
    const f = SUBSCRIPTION_FIELDS;
    // Counted with the marker, stale or not: every event of the subscription exactly once.
    ctx.writes.hincrby(key, f.seen, 1);
    const applied = await subscriptions.appliedVersion(key, f.version);
    const fresh = freshness(version, applied);
    if (fresh === 'stale') return staleResult(version, applied as number);
    const current = fresh === 'tie' ? await subscriptions.retrieve(snapshot.id) : null;
    const state = current ?? snapshot;
    ctx.writes.hset(key, f.status, state.status);
    ctx.writes.hset(key, f.periodEnd, String(state.current_period_end ?? ''));
    ctx.writes.hset(key, f.cancelAt, String(state.cancel_at ?? ''));
    ctx.writes.hset(key, f.version, String(version));
    ctx.writes.hset(key, f.event, event.eventId);
    return { applied: current ? 'fetched' : 'snapshot', version, status: state.status };
  });
