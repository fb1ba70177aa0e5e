import { sign as edSign, generateKeyPairSync, type KeyObject } from 'node:crypto';
import { ConfigError } from '@oncehook/shared';
import { Webhook } from 'standardwebhooks';
import { Webhook as SvixWebhook } from 'svix';
import { describe, expect, it } from 'vitest';
import { SIGNERS } from '../testing/deliveries.ts';
import { addressedTo, servedSource } from '../testing/providers.ts';
import type { Provider } from '../verify/types.ts';

const NOW = 1_750_000_000_000;
const nowS = NOW / 1000;
const SECRET = `whsec_${Buffer.from('a-24-byte-secret-for-tests!').toString('base64')}`;
const OTHER = `whsec_${Buffer.from('another-24-byte-secret!!').toString('base64')}`;
const payload = JSON.stringify({
  type: 'invoice.paid',
  timestamp: '2025-06-15T12:00:00Z',
  data: { id: 'in_1' },
});
const MSG = 'msg_2KWPBgLlAfxdpx2AI54pPJ85f4W';

const make = (env: Record<string, string>) => servedSource('standard', env) as Provider;
// v1 signed by the standardwebhooks library itself.
const v1 = (secret: string, t = nowS, body = payload, id = MSG) =>
  new Webhook(secret).sign(id, new Date(t * 1000), body);
const headers = (signature: string, t = nowS, id = MSG) => ({
  'webhook-id': id,
  'webhook-timestamp': String(t),
  'webhook-signature': signature,
});
const verify = (p: Provider, h: Record<string, string>, body = payload) =>
  p.verify({ ...addressedTo('standard'), rawBody: Buffer.from(body), headers: new Headers(h), nowMs: NOW });

// v1a: ed25519 over the same `<id>.<timestamp>.<body>`, public key serialised as whpk_<base64>.
const keyPair = () => generateKeyPairSync('ed25519');
const whpk = (key: KeyObject) =>
  `whpk_${Buffer.from(key.export({ format: 'jwk' }).x as string, 'base64url').toString('base64')}`;
const v1a = (key: KeyObject, t = nowS, body = payload, id = MSG) =>
  `v1a,${edSign(null, Buffer.from(`${id}.${t}.${body}`), key).toString('base64')}`;

describe('standard webhooks verifier', () => {
  const provider = make({ STANDARD_WEBHOOK_SECRET: SECRET });

  it('accepts a v1 delivery signed by the standardwebhooks library; the id is the signed webhook-id', async () => {
    expect(await verify(provider, headers(v1(SECRET)))).toEqual({
      ok: true,
      event: { id: MSG, type: 'invoice.paid' },
    });
  });

  it.each([
    ['tampered body', headers(v1(SECRET)), payload.replace('in_1', 'in_2')],
    ['wrong secret', headers(v1(OTHER)), payload],
    ['re-labelled id', headers(v1(SECRET), nowS, 'msg_other'), payload],
    ['missing signature', { 'webhook-id': MSG, 'webhook-timestamp': String(nowS) }, payload],
    ['missing id', { 'webhook-timestamp': String(nowS), 'webhook-signature': v1(SECRET) }, payload],
    ['stale timestamp (301 s)', headers(v1(SECRET, nowS - 301), nowS - 301), payload],
    ['future timestamp (301 s)', headers(v1(SECRET, nowS + 301), nowS + 301), payload],
    ['unknown version', headers(v1(SECRET).replace('v1,', 'v2,')), payload],
  ])('refuses a %s with one 401', async (_, h, body) => {
    expect(await verify(provider, h, body)).toMatchObject({
      ok: false,
      reason: 'invalid_signature',
    });
  });

  it('accepts a space-separated list when any one signature is valid (the sender rotating)', async () => {
    expect(await verify(provider, headers(`${v1(OTHER)} ${v1(SECRET)}`))).toMatchObject({ ok: true });
  });

  it('accepts either configured secret during our own rotation', async () => {
    const rotating = make({ STANDARD_WEBHOOK_SECRET: `${SECRET},${OTHER}` });
    expect(await verify(rotating, headers(v1(SECRET)))).toMatchObject({ ok: true });
    expect(await verify(rotating, headers(v1(OTHER)))).toMatchObject({ ok: true });
  });

  describe('v1a (ed25519) with STANDARD_WEBHOOK_PUBLIC_KEY', () => {
    const sender = keyPair();
    const asymmetric = make({ STANDARD_WEBHOOK_PUBLIC_KEY: whpk(sender.publicKey) });

    it('accepts a signature made with the private key, and is served with only a public key', async () => {
      expect(await verify(asymmetric, headers(v1a(sender.privateKey)))).toMatchObject({ ok: true });
    });

    it('refuses another key, a tampered body, a stale timestamp, and v1 it has no secret for', async () => {
      const stranger = keyPair();
      expect(await verify(asymmetric, headers(v1a(stranger.privateKey)))).toMatchObject({
        reason: 'invalid_signature',
      });
      expect(await verify(asymmetric, headers(v1a(sender.privateKey)), `${payload} `)).toMatchObject({
        reason: 'invalid_signature',
      });
      const old = nowS - 301;
      expect(await verify(asymmetric, headers(v1a(sender.privateKey, old), old))).toMatchObject({
        reason: 'invalid_signature',
      });
      expect(await verify(asymmetric, headers(v1(SECRET)))).toMatchObject({ reason: 'invalid_signature' });
    });

    it('accepts v1 and v1a side by side, and either of two public keys', async () => {
      const next = keyPair();
      const both = make({
        STANDARD_WEBHOOK_SECRET: SECRET,
        STANDARD_WEBHOOK_PUBLIC_KEY: `${whpk(sender.publicKey)},${whpk(next.publicKey)}`,
      });
      expect(await verify(both, headers(`${v1(OTHER)} ${v1a(next.privateKey)}`))).toMatchObject({ ok: true });
      expect(await verify(both, headers(v1(SECRET)))).toMatchObject({ ok: true });
    });
  });

  it('stops at start-up on a key or secret that cannot be decoded, naming the variable', () => {
    expect(() => make({ STANDARD_WEBHOOK_SECRET: 'whsec_!!!' })).toThrow(ConfigError);
    expect(() => make({ STANDARD_WEBHOOK_SECRET: 'whsec_!!!' })).toThrow(/STANDARD_WEBHOOK_SECRET/);
    expect(() => make({ STANDARD_WEBHOOK_PUBLIC_KEY: 'whpk_AAAA' })).toThrow(/STANDARD_WEBHOOK_PUBLIC_KEY/);
  });

  it('is not served with neither a secret nor a public key; 7-day window by default', () => {
    expect(servedSource('standard')).toBeUndefined();
    expect(provider.dedupeTtlSeconds).toBe(7 * 86_400);
  });

  describe('Svix-branded headers (svix-id, svix-timestamp, svix-signature)', () => {
    const svixHeaders = (signature: string, t = nowS, id = MSG) => ({
      'svix-id': id,
      'svix-timestamp': String(t),
      'svix-signature': signature,
    });

    it('accepts a delivery signed by Svix’s own library, with Svix’s header names', async () => {
      const signature = new SvixWebhook(SECRET).sign(MSG, new Date(NOW), payload);
      expect(await verify(provider, svixHeaders(signature))).toEqual({
        ok: true,
        event: { id: MSG, type: 'invoice.paid' },
      });
    });

    it('refuses them tampered, stale or future, and re-labelled', async () => {
      const signature = v1(SECRET);
      expect(await verify(provider, svixHeaders(signature), payload.replace('in_1', 'in_2'))).toMatchObject({
        reason: 'invalid_signature',
      });
      for (const t of [nowS - 301, nowS + 301]) {
        expect(await verify(provider, svixHeaders(v1(SECRET, t), t))).toMatchObject({
          reason: 'invalid_signature',
        });
      }
      expect(await verify(provider, svixHeaders(signature, nowS, 'msg_other'))).toMatchObject({
        reason: 'invalid_signature',
      });
    });

    it('takes each svix- header over its webhook- twin, as Svix’s library does', async () => {
      const mixed = { ...headers(v1(OTHER), nowS, 'msg_unbranded'), ...svixHeaders(v1(SECRET)) };
      expect(await verify(provider, mixed)).toMatchObject({ ok: true, event: { id: MSG } });
    });

    it('accepts v1a (ed25519) under svix- headers too', async () => {
      const sender = keyPair();
      const asymmetric = make({ STANDARD_WEBHOOK_PUBLIC_KEY: whpk(sender.publicKey) });
      expect(await verify(asymmetric, svixHeaders(v1a(sender.privateKey)))).toMatchObject({ ok: true });
    });
  });

  describe('the svix source', () => {
    const served = servedSource('svix', { SVIX_WEBHOOK_SECRET: SECRET }) as Provider;

    it('is served on its own secret, and accepts both header brands and both versions', async () => {
      expect(served).toBeDefined();
      expect(servedSource('svix', { STANDARD_WEBHOOK_SECRET: SECRET })).toBeUndefined();
      const signature = v1(SECRET);
      expect(
        await verify(served, { 'svix-id': MSG, 'svix-timestamp': String(nowS), 'svix-signature': signature }),
      ).toMatchObject({
        ok: true,
      });
      expect(await verify(served, headers(signature))).toMatchObject({ ok: true });
      const sender = keyPair();
      const both = servedSource('svix', {
        SVIX_WEBHOOK_SECRET: SECRET,
        SVIX_WEBHOOK_PUBLIC_KEY: whpk(sender.publicKey),
      }) as Provider;
      expect(await verify(both, headers(v1a(sender.privateKey)))).toMatchObject({ ok: true });
    });

    it('signs what Svix’s own library verifies', async () => {
      const signed = await SIGNERS.svix({ body: payload, secret: SECRET, id: MSG, nowMs: Date.now() });
      expect(Object.keys(signed).sort()).toEqual(['svix-id', 'svix-signature', 'svix-timestamp']);
      expect(() => new SvixWebhook(SECRET).verify(payload, signed)).not.toThrow();
      expect(() => new SvixWebhook(OTHER).verify(payload, signed)).toThrow();
    });
  });
});
