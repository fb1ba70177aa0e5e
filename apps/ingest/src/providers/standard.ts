import { standardWebhooksSource } from '../verify/standard-webhooks.ts';

/** Any Standard Webhooks sender, with either header brand (standard-webhooks.ts). */
export const standard = standardWebhooksSource({
  name: 'standard',
  secretVariable: 'STANDARD_WEBHOOK_SECRET',
  publicKeyVariable: 'STANDARD_WEBHOOK_PUBLIC_KEY',
  brand: 'webhook',
});
