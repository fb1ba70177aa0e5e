import {
  type AcceptDeps,
  acceptEvent,
  checkEventId,
  checkEventType,
  stripeOrdering,
} from '@oncehook/ingest/accept';
import type Stripe from 'stripe';
import type { Feed } from '../checkpoint.ts';
import { retryRateLimited } from '../rate-limit.ts';
import { type ReconcileSource, type RunContext, rangeStart } from '../run.ts';
import { type StripeEventsApi, stripeRateLimit } from './stripe-events.ts';

/**
 * Stripe: every event Stripe lists as not delivered since the checkpoint goes through the ingest's
 * own exactly-once path (`acceptEvent`), under the source, id, type and payload a webhook delivery
 * of it would have: one the ingest received is a duplicate (one more delivery counted), one it
 * never received is enqueued, once, and processed like any other.
 */
export const STRIPE_SOURCE = 'stripe';
const FEED = 'events';

export function stripeSource(api: StripeEventsApi, accept: AcceptDeps, ttlSeconds: number): ReconcileSource {
  async function feedEvent(ctx: RunContext, event: Stripe.Event) {
    const bad = checkEventId(event.id, 'id') ?? checkEventType(event.type);
    if (bad) {
      // What the webhook route would refuse is not fed in by the back door either.
      ctx.log.warn({ eventId: String(event.id).slice(0, 300), reason: bad.message }, 'listed event skipped');
      return ctx.found('failed');
    }
    const accepted = await acceptEvent(accept, {
      source: STRIPE_SOURCE,
      eventId: event.id,
      type: event.type,
      rawBody: Buffer.from(JSON.stringify(event)),
      ttlSeconds,
      listed: true,
      // Ordered like a delivery of it: a recovered event waits its turn behind its object's others.
      order: stripeOrdering(event as unknown as Record<string, unknown>),
    });
    if (accepted.duplicate) return ctx.found('already_seen');
    ctx.found('recovered');
    ctx.log.warn(
      { eventId: event.id, type: event.type, created: event.created },
      'recovered an event the ingest never received: enqueued now',
    );
  }

  /** Feeds every listed event in [from, upTo], page by page, moving the run's `upTo` after each. */
  async function walk(ctx: RunContext, feed: Feed, from: number, upTo: number) {
    let startingAfter: string | undefined;
    for (;;) {
      ctx.check();
      const page = await retryRateLimited(
        () => api.listUndelivered({ from, upTo, startingAfter }),
        stripeRateLimit,
        ctx.rateLimited,
      );
      for (const event of page.events) await feedEvent(ctx, event);
      const oldest = page.events.at(-1);
      if (!oldest) return;
      await feed.progress(oldest.created);
      if (!page.hasMore) return;
      startingAfter = oldest.id;
    }
  }

  return {
    name: STRIPE_SOURCE,
    async run(ctx) {
      const feed = ctx.feed(FEED);
      const { unfinished } = await feed.read();
      if (unfinished) {
        ctx.log.info(unfinished, 'resuming a run that stopped before its end');
        // Not further back than the window either (see rangeStart), however long it lay unfinished.
        const from = Math.max(unfinished.from, ctx.now() - ttlSeconds);
        await walk(ctx, feed, from, unfinished.upTo);
        ctx.checkpointed(FEED, await feed.commit(unfinished.from, unfinished.to));
      }
      const from = rangeStart(ctx, await feed.read(), ttlSeconds);
      const to = ctx.now();
      await feed.begin(from, to);
      await walk(ctx, feed, from, to);
      ctx.checkpointed(FEED, await feed.commit(from, to));
    },
  };
}
