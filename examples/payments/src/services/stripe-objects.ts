import { PermanentError } from '@oncehook/worker';
import { stripeClient, stripeFailure } from './stripe-client.ts';

/**
 * What the workflows for Stripe's thin events read: the object an event is about. A thin event
 * carries only a reference to it (`related_object`), so a workflow fetches it before anything else.
 */
export interface StripeObjects {
  readonly kind: 'stripe' | 'none';
  /** The object a thin event (its raw JSON) refers to, fetched now through the Stripe SDK. */
  relatedObject(thinEvent: string): Promise<unknown>;
}

/** Through the SDK's own `fetchRelatedObject` (the event's `related_object.url`), against PAYMENTS_URL. */
export function stripeObjects(baseUrl: string, apiKey?: string): StripeObjects {
  const stripe = stripeClient(baseUrl, apiKey);
  return {
    kind: 'stripe',
    async relatedObject(thinEvent) {
      // Verified by the ingest already; this only builds the SDK's view of it.
      let notification: { fetchRelatedObject?: () => Promise<unknown> };
      try {
        notification = stripe.parseEventNotificationWithoutVerification(thinEvent) as typeof notification;
      } catch (err) {
        throw new PermanentError(`not a thin event: ${(err as Error).message}`);
      }
      try {
        const object = await notification.fetchRelatedObject?.();
        if (object == null) throw new PermanentError('the thin event has no related_object');
        return object;
      } catch (err) {
        throw stripeFailure(err, 'Stripe refused the related object');
      }
    },
  };
}

/** Without PAYMENTS_URL there is no Stripe to ask: a thin event's workflow fails at once, replayable. */
export const noStripeObjects: StripeObjects = {
  kind: 'none',
  async relatedObject() {
    throw new PermanentError(
      'thin events need PAYMENTS_URL (a Stripe API) to fetch the object they refer to',
    );
  },
};
