import { DAY_SECONDS } from '@oncehook/shared';
import Stripe from 'stripe';
import { checkEventId, parseJsonObject } from './json-body.ts';
import {
  badSignature,
  hmac,
  MAX_SIGNATURE_ENTRIES,
  parseUnixSeconds,
  TOLERANCE_SECONDS,
  utf8Text,
} from './signing.ts';
import type { ProviderModule } from './types.ts';

/**
 * Stripe: `Stripe-Signature: t=<unix>,v1=<hex>[,v1=<hex>…]`, HMAC-SHA256 of `<t>.<body>`,
 * checked by Stripe's own library. The event id is inside the signed body.
 *
 * Window: live mode retries for up to 3 days, and an event can be re-sent by hand (Dashboard,
 * `stripe events resend`) or listed for a backfill for 30 days — so 30 days by default.
 */
const HEADER = 'stripe-signature';
// Stripe's library, computing its HMAC through the one counted helper.
const COUNTED_HMAC = {
  computeHMACSignature: (payload: string, secret: string) => hmac('sha256', secret, payload).toString('hex'),
} as unknown as Parameters<NonNullable<typeof Stripe.webhooks.signature>['verifyHeader']>[4];

export const stripe: ProviderModule = {
  secretEnv: ['STRIPE_WEBHOOK_SECRET'],
  windowSeconds: 30 * DAY_SECONDS,
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
        return { ok: true, event: { id: event.value.id as string, type } };
      },
    };
  },
};
