import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseIngestEnv } from '../env.ts';
import { signerOf } from '../testing/deliveries.ts';
import { addressedTo, servedSource } from '../testing/providers.ts';
import type { Provider } from '../verify/types.ts';
import { githubOrdering } from './github.ts';
import { createProviders, PROVIDERS } from './registry.ts';
import { shopifyOrdering } from './shopify.ts';
import { stripeOrdering } from './stripe.ts';

/** Each provider's ordering key: the object an event is about, and the time its events run in. */
const NOW = 1_750_000_000_000;

async function verified(
  name: keyof typeof PROVIDERS,
  env: Record<string, string>,
  body: string,
  event?: string,
) {
  const module = PROVIDERS[name];
  const secret = Object.values(env)[0] as string;
  const headers = await signerOf(module.name)({
    body,
    secret,
    id: 'delivery-1',
    nowMs: NOW,
    ...(event ? { event } : {}),
  });
  const provider = servedSource(name, env) as Provider;
  const result = await provider.verify({
    ...addressedTo(name),
    rawBody: Buffer.from(body),
    headers: new Headers({ 'content-type': 'application/json', ...headers }),
    nowMs: NOW,
  });
  if (!result.ok || !('event' in result)) throw new Error(`not verified: ${JSON.stringify(result)}`);
  return result.event;
}

describe('stripe ordering key', () => {
  it('is data.object.id, by created (seconds)', async () => {
    const body = JSON.stringify({
      id: 'evt_1',
      object: 'event',
      type: 'customer.subscription.updated',
      created: 1_750_000_000,
      data: { object: { id: 'sub_1', object: 'subscription' } },
    });
    expect((await verified('stripe', { STRIPE_WEBHOOK_SECRET: 'whsec_t' }, body)).order).toEqual({
      key: 'sub_1',
      at: 1_750_000_000_000,
    });
  });

  it("is a thin event's related object, by its ISO created", () => {
    expect(
      stripeOrdering({
        object: 'v2.core.event',
        created: '2025-06-15T12:00:00.123Z',
        related_object: { id: 'cs_1', type: 'checkout.session' },
      }),
    ).toEqual({ key: 'cs_1', at: Date.parse('2025-06-15T12:00:00.123Z') });
  });

  it('is none for an event about no object', () => {
    expect(stripeOrdering({ id: 'evt_2', data: {} })).toBeUndefined();
  });
});

describe('shopify ordering key', () => {
  it('is the topic family and the resource id, by X-Shopify-Triggered-At', async () => {
    const body = JSON.stringify({
      id: 450789469,
      admin_graphql_api_id: 'gid://shopify/Order/450789469',
      updated_at: '2025-06-15T10:00:00-04:00',
    });
    const event = await verified('shopify', { SHOPIFY_WEBHOOK_SECRET: 's' }, body, 'orders/updated');
    // The signer sends no Triggered-At: updated_at is used.
    expect(event.order).toEqual({ key: 'orders/450789469', at: Date.parse('2025-06-15T14:00:00Z') });
    expect(shopifyOrdering('orders/cancelled', { id: 450789469 }, '2025-06-15T14:00:01.5Z')).toEqual({
      key: 'orders/450789469',
      at: Date.parse('2025-06-15T14:00:01.5Z'),
    });
    expect(shopifyOrdering('products/update', { id: 450789469 }, null)?.key).toBe('products/450789469');
    // An id a double cannot hold is read from admin_graphql_api_id, never rounded.
    // (parsed, as a body would be: the literal itself cannot be written without losing digits)
    expect(shopifyOrdering('orders/create', JSON.parse('{"id":820982911946154508}'), null)).toBeUndefined();
  });
});

describe('github ordering key', () => {
  it('is the repository (and the ref for a push), in arrival order', async () => {
    const body = JSON.stringify({ ref: 'refs/heads/main', repository: { full_name: 'octo/hello' } });
    const event = await verified('github', { GITHUB_WEBHOOK_SECRET: 'g' }, body, 'push');
    expect(event.order).toEqual({ key: 'octo/hello:refs/heads/main' });
    expect(githubOrdering('issues', { action: 'opened', repository: { full_name: 'octo/hello' } })).toEqual({
      key: 'octo/hello',
    });
    expect(githubOrdering('ping', { zen: 'x' })).toBeUndefined();
  });
});

describe('custom source ordering key (SOURCES_FILE)', () => {
  it('is read from the declared JSON paths', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'oncehook-ordering-'));
    const path = join(dir, 'sources.json');
    writeFileSync(
      path,
      JSON.stringify({
        sources: {
          acme: {
            signature: { header: 'X-Sig' },
            eventId: { jsonPath: 'id' },
            eventType: { jsonPath: 'type' },
            orderingKey: { jsonPath: 'data.account.id' },
            orderingTime: { jsonPath: 'timestamp' },
          },
        },
      }),
    );
    const provider = createProviders(
      parseIngestEnv({ SOURCES_FILE: path, ACME_WEBHOOK_SECRET: 'k', ALLOW_SHORT_SECRETS: '1' }),
    ).get('acme') as Provider;
    const body = JSON.stringify({
      id: 'e1',
      type: 'account.updated',
      timestamp: 1_750_000_001,
      data: { account: { id: 'acct_7' } },
    });
    const { createHmac } = await import('node:crypto');
    const result = await provider.verify({
      ...addressedTo('acme'),
      rawBody: Buffer.from(body),
      headers: new Headers({ 'x-sig': createHmac('sha256', 'k').update(body).digest('hex') }),
      nowMs: NOW,
    });
    expect(result).toMatchObject({ ok: true, event: { order: { key: 'acct_7', at: 1_750_000_001_000 } } });
  });
});
