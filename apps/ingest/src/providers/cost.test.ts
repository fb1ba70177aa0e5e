import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Webhook } from 'standardwebhooks';
import Stripe from 'stripe';
import { describe, expect, it } from 'vitest';
import { addressedTo, servedSource } from '../testing/providers.ts';
import { macsComputedSoFar } from '../verify/signing.ts';
import type { Provider } from '../verify/types.ts';

/**
 * What a forged delivery costs: one pass over the body per configured secret, however many
 * signature entries its header carries. Counted in MACs computed, not in time.
 */
const NOW = 1_750_000_000_000;
const body = JSON.stringify({ id: 'evt_cost', type: 'x', pad: 'p'.repeat(1024 * 1024 - 60) });
const verify = async (p: Provider | undefined, headers: Record<string, string>) => {
  const before = macsComputedSoFar();
  const result = await p?.verify({
    ...addressedTo('standard'),
    rawBody: Buffer.from(body),
    headers: new Headers(headers),
    nowMs: NOW,
  });
  return { result, macs: macsComputedSoFar() - before };
};
const junk = (n: number, make: (i: number) => string) => Array.from({ length: n }, (_, i) => make(i));
const b64 = (i: number) => Buffer.from(`forged-${i}`.padEnd(32, '.')).toString('base64');

describe('a 1 MiB body with 2,500 forged signature entries', () => {
  it('standard: one MAC per configured secret', async () => {
    const secrets = [
      `whsec_${Buffer.from('a'.repeat(32)).toString('base64')}`,
      `whsec_${Buffer.from('b'.repeat(32)).toString('base64')}`,
    ];
    const p = servedSource('standard', { STANDARD_WEBHOOK_SECRET: secrets.join(',') });
    const { result, macs } = await verify(p, {
      'webhook-id': 'msg_1',
      'webhook-timestamp': String(NOW / 1000),
      'webhook-signature': junk(2500, (i) => `v1,${b64(i)}`).join(' '),
    });
    expect(result).toMatchObject({ ok: false, reason: 'invalid_signature' });
    expect(macs).toBe(secrets.length);

    // And a real signature among the first entries still verifies, at the same cost.
    const real = new Webhook(secrets[1] as string).sign('msg_1', new Date(NOW), body);
    const ok = await verify(p, {
      'webhook-id': 'msg_1',
      'webhook-timestamp': String(NOW / 1000),
      'webhook-signature': [`v1,${b64(0)}`, real].join(' '),
    });
    expect(ok.result).toMatchObject({ ok: true });
    expect(ok.macs).toBeLessThanOrEqual(secrets.length);
  });

  it('stripe: one MAC per configured secret', async () => {
    const secrets = ['whsec_one', 'whsec_two', 'whsec_three'];
    const p = servedSource('stripe', { STRIPE_WEBHOOK_SECRET: secrets.join(',') });
    const header = [`t=${NOW / 1000}`, ...junk(2500, (i) => `v1=${String(i).padStart(64, 'f')}`)].join(',');
    const { result, macs } = await verify(p, { 'stripe-signature': header });
    expect(result).toMatchObject({ ok: false, reason: 'invalid_signature' });
    expect(macs).toBe(secrets.length);

    const good = Stripe.webhooks.generateTestHeaderString({
      payload: body,
      secret: 'whsec_three',
      timestamp: NOW / 1000,
    });
    expect((await verify(p, { 'stripe-signature': good })).result).toMatchObject({ ok: true });
  });

  it('a custom source with a separator: one MAC per configured secret', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'oncehook-cost-'));
    const file = join(dir, 'sources.json');
    writeFileSync(
      file,
      JSON.stringify({
        sources: {
          acme: {
            signature: { header: 'X-Acme-Signature', separator: ',', encoding: 'hex' },
            eventId: { jsonPath: 'id' },
          },
        },
      }),
    );
    const p = servedSource('acme', { SOURCES_FILE: file, ACME_WEBHOOK_SECRET: 'k1,k2' });
    const { result, macs } = await verify(p, {
      'x-acme-signature': junk(2500, (i) => i.toString(16).padStart(64, '0')).join(','),
    });
    expect(result).toMatchObject({ ok: false, reason: 'invalid_signature' });
    expect(macs).toBe(2);
  });

  it('the providers with a single signature compute at most one MAC per secret', async () => {
    for (const [source, env, headers] of [
      [
        'shopify',
        { SHOPIFY_WEBHOOK_SECRET: 's1,s2' },
        { 'x-shopify-hmac-sha256': `${'A'.repeat(43)}=`, 'x-shopify-webhook-id': 'w' },
      ],
      [
        'slack',
        { SLACK_SIGNING_SECRET: 's1,s2' },
        { 'x-slack-signature': `v0=${'0'.repeat(64)}`, 'x-slack-request-timestamp': String(NOW / 1000) },
      ],
      ['demo', { DEMO_WEBHOOK_SECRET: 's1,s2' }, { 'x-oncehook-signature': `sha256=${'0'.repeat(64)}` }],
    ] as const) {
      const { result, macs } = await verify(servedSource(source, env), headers);
      expect([source, result]).toMatchObject([source, { ok: false, reason: 'invalid_signature' }]);
      expect([source, macs]).toEqual([source, 2]);
    }
  });
});
