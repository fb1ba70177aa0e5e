import { createHmac } from 'node:crypto';
import { sign as githubSign } from '@octokit/webhooks-methods';
import { Webhook } from 'standardwebhooks';
import Stripe from 'stripe';
import { SIGNATURE_HEADER } from '../providers/demo.ts';

/**
 * Signs a delivery the way each provider does, with the provider's own library where it has one:
 * for the `webhook:send` tool, and for tests that need a valid delivery.
 */
export interface Delivery {
  body: string;
  secret: string;
  /** The event id for sources that carry it in a header (GitHub, Shopify, Standard Webhooks). */
  id: string;
  nowMs: number;
  /** X-GitHub-Event / X-Shopify-Topic; ignored elsewhere. */
  event?: string;
}

type Signer = (d: Delivery) => Promise<Record<string, string>>;
const seconds = (ms: number) => Math.floor(ms / 1000);
const hmac = (secret: string, text: string, encoding: 'hex' | 'base64') =>
  createHmac('sha256', secret).update(text).digest(encoding);

export const SIGNERS = {
  stripe: async ({ body, secret, nowMs }) => ({
    'stripe-signature': Stripe.webhooks.generateTestHeaderString({
      payload: body,
      secret,
      timestamp: seconds(nowMs),
    }),
  }),
  github: async ({ body, secret, id, event }) => ({
    'x-hub-signature-256': await githubSign(secret, body),
    'x-github-delivery': id,
    'x-github-event': event ?? 'push',
  }),
  shopify: async ({ body, secret, id, event }) => ({
    'x-shopify-hmac-sha256': hmac(secret, body, 'base64'),
    'x-shopify-event-id': id,
    'x-shopify-webhook-id': id,
    'x-shopify-topic': event ?? 'orders/create',
  }),
  slack: async ({ body, secret, nowMs }) => ({
    'x-slack-request-timestamp': String(seconds(nowMs)),
    'x-slack-signature': `v0=${hmac(secret, `v0:${seconds(nowMs)}:${body}`, 'hex')}`,
  }),
  standard: async ({ body, secret, id, nowMs }) => ({
    'webhook-id': id,
    'webhook-timestamp': String(seconds(nowMs)),
    'webhook-signature': new Webhook(secret).sign(id, new Date(seconds(nowMs) * 1000), body),
  }),
  demo: async ({ body, secret }) => ({ [SIGNATURE_HEADER]: `sha256=${hmac(secret, body, 'hex')}` }),
} satisfies Record<string, Signer>;

export type SignedSource = keyof typeof SIGNERS;
export const isSignedSource = (s: string): s is SignedSource => Object.hasOwn(SIGNERS, s);
