import Stripe from 'stripe';
import { type RateLimitOf, retryAfterMs } from '../rate-limit.ts';

/**
 * Stripe's list of events not (yet) delivered to every endpoint, through the official SDK, at the
 * same API base and with the same key as the worker's charge step (PAYMENTS_URL, which tests
 * point at a fake). Newest first, by `created`; a page of up to 100.
 */
export interface EventsPage {
  events: Stripe.Event[];
  hasMore: boolean;
}

export interface StripeEventsApi {
  /** Events with `from <= created <= upTo`, after `startingAfter` (an event id) if given. */
  listUndelivered(range: { from: number; upTo: number; startingAfter?: string }): Promise<EventsPage>;
}

export function stripeEventsApi(baseUrl: string, apiKey: string, pageSize = 100): StripeEventsApi {
  const url = new URL(baseUrl);
  const protocol = url.protocol === 'https:' ? 'https' : 'http';
  const stripe = new Stripe(apiKey, {
    host: url.hostname,
    port: url.port || (protocol === 'https' ? 443 : 80),
    protocol,
    // Rate limits are waited out by the run (rate-limit.ts), which counts and logs each wait.
    maxNetworkRetries: 0,
    timeout: 30_000,
    telemetry: false,
  });
  return {
    async listUndelivered({ from, upTo, startingAfter }) {
      const page = await stripe.events.list({
        delivery_success: false,
        created: { gte: from, lte: upTo },
        limit: pageSize,
        ...(startingAfter ? { starting_after: startingAfter } : {}),
      });
      return { events: page.data, hasMore: page.has_more };
    },
  };
}

export const stripeRateLimit: RateLimitOf = (err) =>
  err instanceof Stripe.errors.StripeError && err.statusCode === 429
    ? { retryAfterMs: retryAfterMs(err.headers?.['retry-after']) }
    : null;
