import { createHash, createHmac } from 'node:crypto';
import { sign as octokitSign } from '@octokit/webhooks-methods';
import { Webhook } from 'standardwebhooks';
import Stripe from 'stripe';
import twilio from 'twilio';
import { PROVIDER_LIST, PROVIDERS, type ProviderName } from '../providers/registry.ts';
import { formWith, jsonNumbered, jsonWith } from './fixture-bodies.ts';

/**
 * Deliveries signed the way each provider signs them — with the provider's own library where it
 * has one — for the tests, and for `npm run webhook:send`: one example per provider (a fixture, and
 * how to make the n-th distinct event of it) and its signer. Not part of the ingest: it only
 * verifies.
 */

/** What a signer needs to sign one delivery the way the provider does. */
export interface Delivery {
  body: string;
  secret: string;
  /** The event id for providers that carry it in a header; ignored where it is in the body. */
  id: string;
  nowMs: number;
  /** The full URL it is sent to, for URL-signing schemes (default `http://localhost/webhooks/<name>`). */
  url?: string;
  /** X-GitHub-Event / X-Shopify-Topic; ignored elsewhere. */
  event?: string;
}

/** One example delivery: what `npm run webhook:send` sends, and where every provider test starts. */
export interface ProviderExample {
  /** A file in fixtures/. */
  readonly fixture: string;
  /** The type it is recorded with. */
  readonly type: string;
  /** Sent with this Content-Type (default application/json). */
  readonly contentType?: string;
  /** A secret in the form the provider hands out (`whsec_…` for some). */
  secret(label: string): string;
  /** The fixture as the n-th distinct event: its own body and event id. */
  nth(fixture: string, n: number): { body: string; id: string };
  /**
   * The fixture as the event with this id: the id in the body where the provider carries it there,
   * else the body marked with it — another id is another event, never a copy of this one.
   */
  withId(fixture: string, id: string): string;
}

type Signer = (d: Delivery) => Promise<Record<string, string>>;

const hmacOf = (algorithm: string, secret: string, data: string, encoding: 'hex' | 'base64') =>
  createHmac(algorithm, secret).update(data).digest(encoding);

const standardWebhooks =
  (brand: string): Signer =>
  async ({ body, secret, id, nowMs }) => {
    const at = new Date(Math.floor(nowMs / 1000) * 1000);
    return {
      [`${brand}-id`]: id,
      [`${brand}-timestamp`]: String(at.getTime() / 1000),
      [`${brand}-signature`]: new Webhook(secret).sign(id, at, body),
    };
  };
const standardExample = (prefix: string): ProviderExample => ({
  fixture: 'standard-invoice-paid.json',
  type: 'invoice.paid',
  secret: (label) => `whsec_${Buffer.from(label.padEnd(24, '.')).toString('base64')}`,
  nth: (fixture, n) => ({ body: jsonNumbered(fixture, n), id: `${prefix}_example_${n}` }),
  withId: jsonNumbered,
});

const DELIVERIES: Record<ProviderName, { example: ProviderExample; sign: Signer }> = {
  demo: {
    example: {
      fixture: 'demo-payment.json',
      type: 'payment.succeeded',
      secret: (label) => `${label}-demo-secret`,
      nth: (fixture, n) => ({
        body: jsonWith(fixture, 'event_id', `evt_example_${n}`),
        id: `evt_example_${n}`,
      }),
      withId: (fixture, id) => jsonWith(fixture, 'event_id', id),
    },
    sign: async ({ body, secret }) => ({
      'x-oncehook-signature': `sha256=${hmacOf('sha256', secret, body, 'hex')}`,
    }),
  },
  stripe: {
    example: {
      fixture: 'stripe-checkout-session-completed.json',
      type: 'checkout.session.completed',
      secret: (label) => `whsec_${label}`,
      nth: (fixture, n) => ({ body: jsonWith(fixture, 'id', `evt_example_${n}`), id: `evt_example_${n}` }),
      withId: (fixture, id) => jsonWith(fixture, 'id', id),
    },
    sign: async ({ body, secret, nowMs }) => ({
      'stripe-signature': Stripe.webhooks.generateTestHeaderString({
        payload: body,
        secret,
        timestamp: Math.floor(nowMs / 1000),
      }),
    }),
  },
  github: {
    example: {
      fixture: 'github-push.json',
      type: 'push',
      secret: (label) => `${label}-github-secret`,
      nth: (fixture, n) => ({
        body: jsonNumbered(fixture, n),
        id: `00000000-0000-4000-8000-${String(n).padStart(12, '0')}`,
      }),
      withId: jsonNumbered,
    },
    sign: async ({ body, secret, id, event }) => ({
      'x-hub-signature-256': await octokitSign(secret, body),
      'x-github-delivery': id,
      'x-github-event': event ?? 'push',
    }),
  },
  shopify: {
    example: {
      fixture: 'shopify-orders-create.json',
      type: 'orders/create',
      secret: (label) => `${label}-shopify-secret`,
      nth: (fixture, n) => ({
        body: jsonNumbered(fixture, n),
        id: `b54557e4-0000-4000-8000-${String(n).padStart(12, '0')}`,
      }),
      withId: jsonNumbered,
    },
    sign: async ({ body, secret, id, event }) => ({
      'x-shopify-hmac-sha256': hmacOf('sha256', secret, body, 'base64'),
      'x-shopify-topic': event ?? 'orders/create',
      'x-shopify-shop-domain': 'oncehook-example.myshopify.com',
      'x-shopify-api-version': '2025-07',
      'x-shopify-event-id': id,
      'x-shopify-webhook-id': id,
    }),
  },
  slack: {
    example: {
      fixture: 'slack-app-mention.json',
      type: 'app_mention',
      secret: (label) => `${label}-slack-signing-secret`,
      nth: (fixture, n) => ({ body: jsonWith(fixture, 'event_id', `Ev0EXAMPLE${n}`), id: `Ev0EXAMPLE${n}` }),
      withId: (fixture, id) => jsonWith(fixture, 'event_id', id),
    },
    sign: async ({ body, secret, nowMs }) => {
      const t = Math.floor(nowMs / 1000);
      return {
        'x-slack-request-timestamp': String(t),
        'x-slack-signature': `v0=${hmacOf('sha256', secret, `v0:${t}:${body}`, 'hex')}`,
      };
    },
  },
  standard: { example: standardExample('msg'), sign: standardWebhooks('webhook') },
  svix: { example: standardExample('msg'), sign: standardWebhooks('svix') },
  twilio: {
    example: {
      fixture: 'twilio-message-status.form',
      type: 'message.delivered',
      contentType: 'application/x-www-form-urlencoded',
      secret: (label) => `${label}-twilio-auth-token`,
      nth: (fixture, n) => ({
        body: formWith(fixture, 'MessageSid', `SM${String(n).padStart(32, '0')}`),
        id: `idem-example-${n}`,
      }),
      // Twilio's copies are told apart by the signed parameters: another id, another message.
      withId: (fixture, id) =>
        formWith(fixture, 'MessageSid', `SM${createHash('md5').update(id).digest('hex')}`),
    },
    sign: async ({ body, secret, id, url }) => ({
      'content-type': 'application/x-www-form-urlencoded',
      'x-twilio-signature': twilio.getExpectedTwilioSignature(
        secret,
        url ?? 'http://localhost/webhooks/twilio',
        Object.fromEntries(new URLSearchParams(body)),
      ),
      'i-twilio-idempotency-token': id,
    }),
  },
};

export const SIGNERS = Object.fromEntries(
  PROVIDER_LIST.map((p) => [p.name, DELIVERIES[p.name].sign]),
) as Record<ProviderName, Signer>;
export const EXAMPLES = Object.fromEntries(
  PROVIDER_LIST.map((p) => [p.name, DELIVERIES[p.name].example]),
) as Record<ProviderName, ProviderExample>;

/** The example and signer of a source known by name only (a loop over the registry). */
export const exampleOf = (source: string): ProviderExample => EXAMPLES[source as ProviderName];
export const signerOf = (source: string): Signer => SIGNERS[source as ProviderName];

export type SignedSource = ProviderName;
export const isSignedSource = (s: string): s is SignedSource => Object.hasOwn(PROVIDERS, s);
