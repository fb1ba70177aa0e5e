import type { ProviderName } from '../apps/ingest/src/providers/registry.ts';

/**
 * What docs/providers.md says of each built-in provider: the tables are generated from these
 * (docs-tables.ts), beside each module's window and its documented source.
 */
export interface ProviderDocs {
  readonly title: string;
  /** Where the endpoint is set up on the provider's side, and which secret goes where. */
  readonly configure: string;
  /** Headers a delivery is refused without, as the provider spells them (the signature first). */
  readonly requiredHeaders: readonly string[];
  /** Headers read when present, and alternatives (markdown). */
  readonly otherHeaders?: readonly string[];
  /** Where the dedupe key comes from (markdown). */
  readonly eventId: string;
  /** The ordering key and the time events of one key are ordered by (markdown). */
  readonly ordering?: string;
  /** What is refused beyond a bad signature (markdown). */
  readonly refused: string;
}

export const PROVIDER_DOCS: Record<ProviderName, ProviderDocs> = {
  demo: {
    title: 'demo',
    configure: '— (also `POST /webhook`); unsigned unless `DEMO_WEBHOOK_SECRET` is set',
    requiredHeaders: ['X-Oncehook-Signature'],
    eventId: '`event_id` in the body',
    refused:
      'a `type` that is not a string. Unsigned (no header required) until `DEMO_WEBHOOK_SECRET` is set; with `NODE_ENV=production` and no secret, off (404)',
  },
  stripe: {
    title: 'Stripe',
    configure:
      'Developers → Webhooks → add an endpoint (or an event destination); signing secret `whsec_…` → `STRIPE_WEBHOOK_SECRET`',
    requiredHeaders: ['Stripe-Signature'],
    eventId: '`id` in the body (`evt_…`), signed',
    ordering: '`data.object.id` (a thin event: `related_object.id`), by `created` (seconds: ties are common)',
    refused: 'a body without `id`. Thin events (`object: "v2.core.event"`) are accepted as `thin:<type>`',
  },
  github: {
    title: 'GitHub',
    configure:
      'repository or organisation Settings → Webhooks → add; the secret you type → `GITHUB_WEBHOOK_SECRET`',
    requiredHeaders: ['X-Hub-Signature-256', 'X-GitHub-Delivery'],
    otherHeaders: ['`X-GitHub-Event` (the type)'],
    eventId: '`X-GitHub-Delivery`, kept on redeliveries; not signed, so the signed body is deduped too',
    ordering: '`repository.full_name` (`push`: `+ ":" + ref`), by arrival (GitHub sends no creation time)',
    refused: 'a form body without its `payload` field',
  },
  shopify: {
    title: 'Shopify',
    configure:
      "app configuration (`shopify.app.toml`) or Settings → Notifications → Webhooks; the app's client secret (or the key shown there) → `SHOPIFY_WEBHOOK_SECRET`",
    requiredHeaders: [
      'X-Shopify-Hmac-Sha256',
      'X-Shopify-Topic',
      'X-Shopify-Shop-Domain',
      'X-Shopify-API-Version',
    ],
    otherHeaders: [
      '`X-Shopify-Event-Id` or `X-Shopify-Webhook-Id`',
      'or the `shopify-*` family instead (`shopify-hmac-sha256`, `shopify-topic`, `shopify-shop-domain`, `shopify-api-version`, `shopify-event-id`: all required)',
    ],
    eventId:
      '`shopify-event-id` / `X-Shopify-Event-Id`, else `X-Shopify-Webhook-Id`; not signed, so the signed body is deduped too',
    ordering:
      'topic family + the resource id (`orders/450789469`; from `admin_graphql_api_id` when present, as large ids lose digits as JSON numbers), by `X-Shopify-Triggered-At`, else `updated_at`',
    refused:
      "a delivery without topic, shop domain or API version (`missing_header`, 400), as Shopify's library does",
  },
  slack: {
    title: 'Slack',
    configure:
      'app settings → Event Subscriptions, Slash Commands and Interactivity: the same URL; Basic Information → Signing Secret → `SLACK_SIGNING_SECRET`',
    requiredHeaders: ['X-Slack-Signature', 'X-Slack-Request-Timestamp'],
    otherHeaders: ['`X-Slack-Retry-Num` (a retry: same `event_id`, a duplicate)'],
    eventId:
      'Events API: `event_id` in the body (signed); slash commands and interactivity (`payload=`): `trigger_id` (signed)',
    refused:
      'a callback without `event_id`, a command or interaction without `trigger_id` (422), another form body (400); `url_verification`, `ssl_check` and `app_rate_limited` are answered and not stored',
  },
  standard: {
    title: 'Standard Webhooks',
    configure:
      'any Standard Webhooks sender: add an endpoint; `whsec_…` → `STANDARD_WEBHOOK_SECRET` and/or `whpk_…` → `STANDARD_WEBHOOK_PUBLIC_KEY`',
    requiredHeaders: ['webhook-id', 'webhook-timestamp', 'webhook-signature'],
    otherHeaders: ['or `svix-id`, `svix-timestamp`, `svix-signature`'],
    eventId: '`webhook-id` (signed)',
    refused:
      'an id containing `.`; `v1a` without `STANDARD_WEBHOOK_PUBLIC_KEY`, `v1` without `STANDARD_WEBHOOK_SECRET`',
  },
  svix: {
    title: 'Svix',
    configure:
      'Svix, or a platform sending through it (Clerk, Resend, …): add an endpoint; its signing secret `whsec_…` → `SVIX_WEBHOOK_SECRET`',
    requiredHeaders: ['svix-id', 'svix-timestamp', 'svix-signature'],
    otherHeaders: ['or `webhook-id`, `webhook-timestamp`, `webhook-signature`'],
    eventId: '`svix-id` (signed)',
    refused:
      'an id containing `.`; `v1a` without `SVIX_WEBHOOK_PUBLIC_KEY`, `v1` without `SVIX_WEBHOOK_SECRET`',
  },
  twilio: {
    title: 'Twilio',
    configure:
      'phone number or messaging service → webhook / status callback URL, HTTP POST; Account → Auth Token → `TWILIO_AUTH_TOKEN`',
    requiredHeaders: ['X-Twilio-Signature'],
    otherHeaders: [
      '`I-Twilio-Idempotency-Token`',
      '`X-Twilio-Webhooks-Signature-Settings` (`algorithm=HMAC_SHA256`)',
    ],
    eventId:
      '`I-Twilio-Idempotency-Token` (kept on retries; not signed, so the signature is deduped too), else `MessageSid`/`CallSid` + its status (signed)',
    refused:
      'a body that is neither form-encoded nor JSON (415); JSON without a matching `bodySHA256` in the URL; an unknown signature algorithm; neither token nor `MessageSid`/`CallSid` (422)',
  },
};

/** The docs of a provider known by name only (a loop over the registry). */
export const docsOf = (name: string): ProviderDocs => PROVIDER_DOCS[name as ProviderName];
