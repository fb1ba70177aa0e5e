import { DAY_SECONDS, type OrderingKey, orderingKey, providerTime } from '@oncehook/shared';
import { checkEventId, parseJsonObject } from '../verify/json-body.ts';
import { badSignature, hmac, safeEqual } from '../verify/signing.ts';
import { defineProvider, refuse } from '../verify/types.ts';

/**
 * Shopify: `X-Shopify-Hmac-Sha256: <base64 HMAC-SHA256 of the raw body>` with the app's client
 * secret, written from Shopify's docs (its library, @shopify/shopify-api, is a whole app kit).
 *
 * Two header families, as that library reads them: the classic `X-Shopify-*` one, and `shopify-*`
 * (events), recognised by `shopify-hmac-sha256` — events deliveries may carry both families, and
 * then the newer one is read. Like the library, the HMAC is checked first, then the headers every
 * delivery carries (topic, shop domain, API version) are required.
 *
 * The event id is `shopify-event-id` / `X-Shopify-Event-Id` (the same on every webhook for one
 * event), else the classic family's `X-Shopify-Webhook-Id`. Headers are not covered by the HMAC, and
 * Shopify signs no timestamp, so the ingest also dedupes on the signed body (`idUnsigned`).
 */
const FAMILIES = {
  classic: {
    hmac: 'x-shopify-hmac-sha256',
    required: ['x-shopify-topic', 'x-shopify-shop-domain', 'x-shopify-api-version'],
    ids: ['x-shopify-event-id', 'x-shopify-webhook-id'],
    triggeredAt: 'x-shopify-triggered-at',
  },
  events: {
    hmac: 'shopify-hmac-sha256',
    required: ['shopify-topic', 'shopify-shop-domain', 'shopify-api-version'],
    ids: ['shopify-event-id'],
    triggeredAt: 'shopify-triggered-at',
  },
} as const;
const BASE64_SHA256 = /^[A-Za-z0-9+/]{43}=$/;

export const shopify = defineProvider({
  name: 'shopify',
  secretEnv: ['SHOPIFY_WEBHOOK_SECRET'],
  window: {
    seconds: DAY_SECONDS,
    source:
      '"retried a total of 8 times over 4 hours" ([changelog, 2024-09-10](https://shopify.dev/changelog/updates-to-webhook-retry-mechanism)); duplicates share the event id ([ignore duplicates](https://shopify.dev/docs/apps/build/webhooks/ignore-duplicates)); a day leaves room around the 4 hours',
  },
  timestamped: false,
  create(env) {
    const secrets = env.secrets.get('SHOPIFY_WEBHOOK_SECRET');
    if (!secrets) return null;
    const refused = badSignature('X-Shopify-Hmac-Sha256 (or shopify-hmac-sha256)');
    return {
      verify({ rawBody, headers }) {
        const family = headers.get(FAMILIES.events.hmac) ? FAMILIES.events : FAMILIES.classic;
        const given = headers.get(family.hmac)?.trim() ?? '';
        if (!BASE64_SHA256.test(given)) return refused;
        const givenBytes = Buffer.from(given, 'base64');
        // Accept if ANY configured secret matches: during a rotation both are live.
        if (!secrets.some((secret) => safeEqual(hmac('sha256', secret, rawBody), givenBytes))) {
          return refused;
        }

        const missing = family.required.filter((name) => !headers.get(name));
        if (missing.length > 0) {
          return refuse(
            'missing_header',
            `Shopify sends these with every webhook; missing: ${missing.join(', ')}.`,
          );
        }
        const body = parseJsonObject(rawBody);
        if (!body.ok) return body;
        const idHeader = family.ids.find((name) => headers.get(name)) ?? family.ids[0];
        const id = headers.get(idHeader);
        const bad = checkEventId(id, idHeader);
        if (bad) return bad;
        const type = headers.get(family.required[0]) as string;
        const order = shopifyOrdering(type, body.value, headers.get(family.triggeredAt));
        return { ok: true, event: { id: id as string, type, idUnsigned: true, order } };
      },
    };
  },
});

/**
 * The resource a Shopify webhook is about: its topic's family and the body's `id`
 * (`orders/450789469` for `orders/create` and `orders/updated` alike), ordered by when Shopify
 * triggered it (`X-Shopify-Triggered-At`), else the resource's `updated_at`.
 */
export function shopifyOrdering(
  topic: string,
  body: Record<string, unknown>,
  triggeredAt: string | null | undefined,
): OrderingKey | undefined {
  const id = resourceId(body);
  if (!id) return undefined;
  return {
    key: `${topic.split('/')[0]}/${id}`,
    at: providerTime(triggeredAt) ?? providerTime(body.updated_at),
  };
}

/**
 * Shopify's ids outgrow a double (820982911946154508 parses as …500): the id is taken from the
 * `admin_graphql_api_id` string (`gid://shopify/Order/820982911946154508`) when there is one, and
 * a numeric `id` only while it is exact.
 */
function resourceId(body: Record<string, unknown>): string | undefined {
  const gid = body.admin_graphql_api_id;
  if (typeof gid === 'string' && gid.includes('/')) return orderingKey(gid.slice(gid.lastIndexOf('/') + 1));
  if (typeof body.id === 'number' && !Number.isSafeInteger(body.id)) return undefined;
  return orderingKey(body.id);
}
