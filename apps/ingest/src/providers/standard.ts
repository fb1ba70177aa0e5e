import { standardWebhooksSource } from '../verify/standard-webhooks.ts';

/** Any Standard Webhooks sender, with either header brand (standard-webhooks.ts). */
export const standard = standardWebhooksSource({
  name: 'standard',
  title: 'Standard Webhooks',
  secretVariable: 'STANDARD_WEBHOOK_SECRET',
  publicKeyVariable: 'STANDARD_WEBHOOK_PUBLIC_KEY',
  brand: 'webhook',
  configure:
    'any Standard Webhooks sender: add an endpoint; `whsec_…` → `STANDARD_WEBHOOK_SECRET` and/or `whpk_…` → `STANDARD_WEBHOOK_PUBLIC_KEY`',
});
