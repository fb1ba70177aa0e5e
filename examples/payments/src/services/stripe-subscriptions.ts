import type { RedisClient } from '@oncehook/worker';
import { stripeClient, stripeFailure } from './stripe-client.ts';

/** What the subscription mirror keeps of a subscription. */
export interface SubscriptionState {
  id: string;
  status: string;
  current_period_end: number | null;
  cancel_at: number | null;
}

/**
 * Subscriptions as Stripe has them now, and the version the mirror last applied. The mirror asks
 * Stripe when an event's `created` ties with the applied version: seconds cannot order them.
 */
export interface StripeSubscriptions {
  readonly kind: 'stripe' | 'none';
  /** The subscription now, through the Stripe SDK; null without a Stripe API to ask. */
  retrieve(id: string): Promise<SubscriptionState | null>;
  /** A mirror hash's applied version (ms), or null when nothing was applied yet. */
  appliedVersion(key: string, field: string): Promise<number | null>;
}

export function stripeSubscriptions(
  redis: RedisClient,
  baseUrl: string | undefined,
  apiKey?: string,
): StripeSubscriptions {
  const stripe = baseUrl ? stripeClient(baseUrl, apiKey) : null;
  return {
    kind: stripe ? 'stripe' : 'none',
    async appliedVersion(key, field) {
      const v = await redis.hget(key, field);
      return v === null ? null : Number(v);
    },
    async retrieve(id) {
      if (!stripe) return null;
      try {
        return subscriptionState(await stripe.subscriptions.retrieve(id));
      } catch (err) {
        throw stripeFailure(err, `Stripe refused subscription ${id}`);
      }
    },
  };
}

/**
 * The mirrored fields of a subscription object (an event's snapshot or the API's answer). Newer API
 * versions moved `current_period_end` onto the subscription's items: the first item's is taken then.
 */
export function subscriptionState(sub: unknown): SubscriptionState {
  const s = sub as {
    id: string;
    status: string;
    current_period_end?: number | null;
    cancel_at?: number | null;
    items?: { data?: { current_period_end?: number | null }[] };
  };
  return {
    id: s.id,
    status: s.status,
    current_period_end: s.current_period_end ?? s.items?.data?.[0]?.current_period_end ?? null,
    cancel_at: s.cancel_at ?? null,
  };
}
