import { standardWebhooksSource } from '../verify/standard-webhooks.ts';

/**
 * Svix, and the platforms that send through it (Clerk, Resend, …): the same scheme as `standard`,
 * under its own name and secret, so that a Svix sender and another Standard Webhooks sender can be
 * served side by side.
 */
export const svix = standardWebhooksSource({
  name: 'svix',
  title: 'Svix',
  secretVariable: 'SVIX_WEBHOOK_SECRET',
  publicKeyVariable: 'SVIX_WEBHOOK_PUBLIC_KEY',
  brand: 'svix',
  configure:
    'Svix, or a platform sending through it (Clerk, Resend, …): add an endpoint; its signing secret `whsec_…` → `SVIX_WEBHOOK_SECRET`',
});
