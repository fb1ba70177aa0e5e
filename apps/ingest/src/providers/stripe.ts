import { DAY_SECONDS, type OrderingKey, orderingKey, providerTime, thinEventType } from '@oncehook/shared';
import Stripe from 'stripe';
import { checkEventId, parseJsonObject } from '../verify/json-body.ts';
import {
  badSignature,
  hmac,
  MAX_SIGNATURE_ENTRIES,
  parseUnixSeconds,
  TOLERANCE_SECONDS,
  utf8Text,
} from '../verify/signing.ts';
import { defineProvider } from '../verify/types.ts';

/**
 * Stripe: `Stripe-Signature: t=<unix>,v1=<hex>[,v1=<hex>…]`, HMAC-SHA256 of `<t>.<body>`,
 * checked by Stripe's own library. The event id is inside the signed body.
 *
 * Thin events (`object: "v2.core.event"`, sent to event destinations) carry no object, only a
 * reference to it: they are recorded as `thin:<type>` (shared `thinEventType`), so that no workflow
 * written for the snapshot event of the same name is ever handed one.
 */
const HEADER = 'stripe-signature';
// Stripe's library, computing its HMAC through the one counted helper.
const COUNTED_HMAC = {
  computeHMACSignature: (payload: string, secret: string) => hmac('sha256', secret, payload).toString('hex'),
} as unknown as Parameters<NonNullable<typeof Stripe.webhooks.signature>['verifyHeader']>[4];

export const stripe = defineProvider({
  name: 'stripe',
  secretEnv: ['STRIPE_WEBHOOK_SECRET'],
  window: {
    seconds: 30 * DAY_SECONDS,
    source:
      'live mode retries "for up to three days" ([automatic retries](https://docs.stripe.com/webhooks#automatic-retries)); an event can be re-sent by hand ([`stripe events resend`](https://docs.stripe.com/cli/events/resend): "created within the last 30 days") or listed for a backfill for 30 days ([undelivered events](https://docs.stripe.com/webhooks/process-undelivered-events))',
  },
  timestamped: true,
  create(env) {
    const secrets = env.secrets.get('STRIPE_WEBHOOK_SECRET');
    if (!secrets) return null;
    const refused = badSignature('Stripe-Signature');
    return {
      verify({ rawBody, headers, nowMs }) {
        const header = headers.get(HEADER);
        if (!header) return refused;
        const body = utf8Text(rawBody);
        if (!body.ok) return refused;
        // The library only refuses timestamps that are too old; one from the future is refused here,
        // with the same tolerance. Exactly one `t`: the library would take the last of several.
        const items = header.split(',');
        const ts = items.filter((item) => item.startsWith('t='));
        const t = ts.length === 1 ? parseUnixSeconds(ts[0]?.slice(2)) : null;
        if (t === null || t - nowMs / 1000 > TOLERANCE_SECONDS) return refused;
        // The library computes one MAC per call and compares it with every v1; it is handed the
        // timestamp and at most MAX_SIGNATURE_ENTRIES of them, whatever the header carries.
        const v1 = items.filter((item) => item.startsWith('v1=')).slice(0, MAX_SIGNATURE_ENTRIES);
        const bounded = [ts[0], ...v1].join(',');
        // Accept if ANY configured secret verifies: during a rotation both are live. Stripe also
        // sends one v1 per active endpoint secret, and the library accepts any of them.
        const signed = secrets.some((secret) => {
          try {
            return Stripe.webhooks.signature!.verifyHeader(
              body.text,
              bounded,
              secret,
              TOLERANCE_SECONDS,
              COUNTED_HMAC,
              nowMs,
            );
          } catch {
            return false;
          }
        });
        if (!signed) return refused;

        const event = parseJsonObject(rawBody);
        if (!event.ok) return event;
        const bad = checkEventId(event.value.id, 'id');
        if (bad) return bad;
        const type = typeof event.value.type === 'string' ? event.value.type : 'unknown';
        const thin = event.value.object === 'v2.core.event';
        return {
          ok: true,
          event: {
            id: event.value.id as string,
            type: thin ? thinEventType(type) : type,
            order: stripeOrdering(event.value),
          },
        };
      },
    };
  },
});

/**
 * The object a Stripe event is about: a snapshot event's `data.object.id`, a thin event's
 * `related_object.id`; ordered by `created` (unix seconds in snapshot events, ISO 8601 in thin ones).
 */
export function stripeOrdering(event: Record<string, unknown>): OrderingKey | undefined {
  const data = event.data as { object?: { id?: unknown } } | undefined;
  const related = event.related_object as { id?: unknown } | undefined;
  const key = orderingKey(event.object === 'v2.core.event' ? related?.id : data?.object?.id);
  if (!key) return undefined;
  return { key, at: providerTime(event.created) };
}
