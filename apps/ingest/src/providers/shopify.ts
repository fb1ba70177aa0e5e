import { checkEventId, parseJsonObject } from './json-body.ts';
import { badSignature, hmac, safeEqual } from './signing.ts';
import type { ProviderModule } from './types.ts';

/**
 * Shopify: `X-Shopify-Hmac-Sha256: <base64 HMAC-SHA256 of the raw body>` with the app's client
 * secret. Shopify publishes no light verifier, so this one is written from its docs.
 *
 * The event id is `X-Shopify-Event-Id` (the same on every webhook for one event), else the older
 * `X-Shopify-Webhook-Id`. Both are headers the HMAC does not cover, and Shopify signs no
 * timestamp, so the ingest also dedupes on the signed body (`idUnsigned`).
 *
 * Shopify retries 8 times over 4 hours, well inside the default 7-day window.
 */
const SIGNATURE = 'x-shopify-hmac-sha256';
const BASE64_SHA256 = /^[A-Za-z0-9+/]{43}=$/;

export const shopify: ProviderModule = {
  secretEnv: ['SHOPIFY_WEBHOOK_SECRET'],
  create(env) {
    const secrets = env.secrets.get('SHOPIFY_WEBHOOK_SECRET');
    if (!secrets) return null;
    const refused = badSignature('X-Shopify-Hmac-Sha256');
    return {
      verify({ rawBody, headers }) {
        const given = headers.get(SIGNATURE)?.trim() ?? '';
        if (!BASE64_SHA256.test(given)) return refused;
        const givenBytes = Buffer.from(given, 'base64');
        // Accept if ANY configured secret matches: during a rotation both are live.
        if (!secrets.some((secret) => safeEqual(hmac('sha256', secret, rawBody), givenBytes))) {
          return refused;
        }

        const body = parseJsonObject(rawBody);
        if (!body.ok) return body;
        const eventId = headers.get('x-shopify-event-id');
        const id = eventId || headers.get('x-shopify-webhook-id');
        const bad = checkEventId(id, eventId ? 'X-Shopify-Event-Id' : 'X-Shopify-Webhook-Id');
        if (bad) return bad;
        const type = headers.get('x-shopify-topic') || 'unknown';
        return { ok: true, event: { id: id as string, type, idUnsigned: true } };
      },
    };
  },
};
