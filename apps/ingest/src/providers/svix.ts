import { standardWebhooksSource } from '../verify/standard-webhooks.ts';

/**
 * Svix, and the platforms that send through it (Clerk, Resend, …): the same scheme as `standard`,
 * under its own name and secret, so that a Svix sender and another Standard Webhooks sender can be
 * served side by side.
 */
export const svix = standardWebhooksSource({
  name: 'svix',
  secretVariable: 'SVIX_WEBHOOK_SECRET',
  publicKeyVariable: 'SVIX_WEBHOOK_PUBLIC_KEY',
  brand: 'svix',
});
