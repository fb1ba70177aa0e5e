import { createHmac } from 'node:crypto';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigError } from '@oncehook/shared';
import { Webhook } from 'standardwebhooks';
import { describe, expect, it } from 'vitest';
import { parseIngestEnv } from '../env.ts';
import { createProviders } from '../providers/registry.ts';
import { addressedTo } from '../testing/providers.ts';
import type { Provider } from '../verify/types.ts';

const NOW = 1_750_000_000_000;
const nowS = NOW / 1000;
const dir = mkdtempSync(join(tmpdir(), 'oncehook-sources-'));
let n = 0;
const file = (content: unknown) => {
  const path = join(dir, `sources-${n++}.json`);
  writeFileSync(path, typeof content === 'string' ? content : JSON.stringify(content));
  return path;
};
const providers = (sources: unknown, env: Record<string, string> = {}) =>
  createProviders(parseIngestEnv({ SOURCES_FILE: file({ sources }), ALLOW_SHORT_SECRETS: '1', ...env }));
const verify = (p: Provider, headers: Record<string, string>, body: string) =>
  p.verify({ ...addressedTo('acme'), rawBody: Buffer.from(body), headers: new Headers(headers), nowMs: NOW });

// A Stripe-like scheme: hex HMAC of "<timestamp>.<body>", id in a header.
const acme = {
  signature: {
    header: 'X-Acme-Signature',
    prefix: 'sha256=',
    separator: ',',
    signed: '{timestamp}.{body}',
    timestamp: { header: 'X-Acme-Timestamp' },
  },
  eventId: { header: 'X-Acme-Delivery' },
  eventType: { jsonPath: 'kind' },
  dedupeTtlSeconds: 3 * 86_400,
};
const body = JSON.stringify({ kind: 'order.paid', data: { id: 42 } });
const acmeSig = (secret: string, t = nowS, b = body) =>
  `sha256=${createHmac('sha256', secret).update(`${t}.${b}`).digest('hex')}`;
const acmeHeaders = (secret: string, t = nowS) => ({
  'x-acme-signature': acmeSig(secret, t),
  'x-acme-timestamp': String(t),
  'x-acme-delivery': 'dlv_1',
});

describe('custom sources from SOURCES_FILE', () => {
  it('serves a declared source once <NAME>_WEBHOOK_SECRET is set, and not before', () => {
    expect(providers({ acme }).has('acme')).toBe(false);
    const live = providers(
      { acme, 'acme-pay': acme },
      { ACME_WEBHOOK_SECRET: 's', ACME_PAY_WEBHOOK_SECRET: 't' },
    );
    expect([...live.keys()]).toEqual(expect.arrayContaining(['demo', 'acme', 'acme-pay']));
    expect(live.get('acme')?.dedupeTtlSeconds).toBe(7 * 86_400); // never below DEDUPE_TTL_SECONDS
  });

  it('verifies the declared HMAC scheme with timestamp, prefix and several signatures', async () => {
    const p = providers({ acme }, { ACME_WEBHOOK_SECRET: 'old,new' }).get('acme') as Provider;
    expect(await verify(p, acmeHeaders('new'), body)).toEqual({
      ok: true,
      event: { id: 'dlv_1', type: 'order.paid', idUnsigned: true },
    });
    expect(await verify(p, acmeHeaders('old'), body)).toMatchObject({ ok: true });
    const both = { ...acmeHeaders('new'), 'x-acme-signature': `${acmeSig('stranger')}, ${acmeSig('new')}` };
    expect(await verify(p, both, body)).toMatchObject({ ok: true });

    const refusals: [Record<string, string>, string][] = [
      [acmeHeaders('new'), body.replace('42', '43')],
      [acmeHeaders('stranger'), body],
      [{ ...acmeHeaders('new'), 'x-acme-signature': '' }, body],
      [acmeHeaders('new', nowS - 301), body],
      [acmeHeaders('new', nowS + 301), body],
    ];
    for (const [h, b] of refusals) {
      expect(await verify(p, h, b)).toMatchObject({ ok: false, reason: 'invalid_signature' });
    }
  });

  it('takes a signed id from a JSON path, optionally qualified by the event type', async () => {
    const plain = {
      secretEnv: 'LEDGERLY_WEBHOOK_SECRET',
      signature: { header: 'X-Sig', encoding: 'base64' },
      eventId: { jsonPath: '$.data.id' },
      eventType: { header: 'X-Kind' },
      idIncludesType: true,
    };
    const p = providers({ ledgerly: plain }, { LEDGERLY_WEBHOOK_SECRET: 'k' }).get('ledgerly') as Provider;
    const sig = createHmac('sha256', 'k').update(body).digest('base64');
    // The type comes from an unsigned header, so the qualified id is not fully signed either.
    expect(await verify(p, { 'x-sig': sig, 'x-kind': 'invoice' }, body)).toEqual({
      ok: true,
      event: { id: 'invoice:42', type: 'invoice', idUnsigned: true },
    });
    expect(await verify(p, { 'x-sig': sig }, body)).toMatchObject({
      ok: false,
      reason: 'invalid_event_type',
    });

    const signedId = { ...plain, eventType: { jsonPath: 'kind' } };
    const q = providers({ ledgerly: signedId }, { LEDGERLY_WEBHOOK_SECRET: 'k' }).get('ledgerly') as Provider;
    expect(await verify(q, { 'x-sig': sig }, body)).toEqual({
      ok: true,
      event: { id: 'order.paid:42', type: 'order.paid' },
    });
  });

  it('counts an id header as signed when the template includes {id}', async () => {
    const spec = { signature: { header: 'X-Sig', signed: '{id}.{body}' }, eventId: { header: 'X-Id' } };
    const p = providers({ idsigned: spec }, { IDSIGNED_WEBHOOK_SECRET: 'k' }).get('idsigned') as Provider;
    const sig = createHmac('sha256', 'k').update(`e1.${body}`).digest('hex');
    expect(await verify(p, { 'x-sig': sig, 'x-id': 'e1' }, body)).toEqual({
      ok: true,
      event: { id: 'e1', type: 'unknown' },
    });
    expect(await verify(p, { 'x-sig': sig, 'x-id': 'e2' }, body)).toMatchObject({
      reason: 'invalid_signature',
    });
  });

  it.each([
    ['a missing file', join(dir, 'nope.json'), /SOURCES_FILE: .*nope\.json: cannot be read \(ENOENT\)/],
    ['invalid JSON', () => file('{ "sources": '), /SOURCES_FILE: .*is not valid JSON/],
    ['an unknown field', () => file({ sources: { acme: { ...acme, colour: 'red' } } }), /sources\.acme/],
    ['a bad source name', () => file({ sources: { 'Acme!': acme } }), /SOURCES_FILE/],
    [
      'a template without {body}',
      () => file({ sources: { acme: { ...acme, signature: { ...acme.signature, signed: '{timestamp}' } } } }),
      /sources\.acme\.signature\.signed: must contain \{body\}/,
    ],
    ['a built-in name', () => file({ sources: { stripe: acme } }), /"stripe" is a built-in source/],
  ])('stops at start-up on %s, with a message naming SOURCES_FILE', (_, path, message) => {
    const config = parseIngestEnv({ SOURCES_FILE: typeof path === 'string' ? path : path() });
    expect(() => createProviders(config)).toThrow(ConfigError);
    expect(() => createProviders(config)).toThrow(message);
  });

  describe('secretEncoding: secrets that are keys, not text', () => {
    // Standard Webhooks, declared as a custom source: the key is the base64 after `whsec_`.
    const standardLike = {
      secretEncoding: 'whsec',
      signature: {
        header: 'webhook-signature',
        encoding: 'base64',
        prefix: 'v1,',
        separator: ' ',
        signed: '{id}.{timestamp}.{body}',
        timestamp: { header: 'webhook-timestamp' },
      },
      eventId: { header: 'webhook-id' },
      eventType: { jsonPath: 'kind' },
    };
    const KEY = `whsec_${Buffer.from('a-24-byte-custom-secret!').toString('base64')}`;
    const OTHER = `whsec_${Buffer.from('another-24-byte-secret!!').toString('base64')}`;
    const standardHeaders = (secret: string, id = 'msg_1') => ({
      'webhook-id': id,
      'webhook-timestamp': String(nowS),
      'webhook-signature': new Webhook(secret).sign(id, new Date(NOW), body),
    });
    const served = (secret: string, spec: object = standardLike) =>
      providers({ hooks: spec }, { HOOKS_WEBHOOK_SECRET: secret }).get('hooks') as Provider;

    it('verifies what the standardwebhooks library signs, with the id signed', async () => {
      expect(await verify(served(KEY), standardHeaders(KEY), body)).toEqual({
        ok: true,
        event: { id: 'msg_1', type: 'order.paid' },
      });
      expect(await verify(served(`${OTHER},${KEY}`), standardHeaders(KEY), body)).toMatchObject({ ok: true });
      expect(await verify(served(KEY), standardHeaders(OTHER), body)).toMatchObject({
        reason: 'invalid_signature',
      });
      const relabelled = { ...standardHeaders(KEY), 'webhook-id': 'msg_2' };
      expect(await verify(served(KEY), relabelled, body)).toMatchObject({ reason: 'invalid_signature' });
    });

    it('without it, the same secret is used as text, and the signature does not verify', async () => {
      const { secretEncoding: _, ...asText } = standardLike;
      expect(await verify(served(KEY, asText), standardHeaders(KEY), body)).toMatchObject({
        reason: 'invalid_signature',
      });
    });

    it.each([
      ['base64', (key: Buffer) => key.toString('base64')],
      ['hex', (key: Buffer) => key.toString('hex')],
    ] as const)('decodes %s secrets', async (encoding, write) => {
      const key = Buffer.from([0, 255, 1, 254, 7, 128, 42, 13]);
      const spec = {
        secretEncoding: encoding,
        signature: { header: 'X-Sig' },
        eventId: { jsonPath: 'data.id' },
      };
      const sig = createHmac('sha256', key).update(body).digest('hex');
      expect(await verify(served(write(key), spec), { 'x-sig': sig }, body)).toMatchObject({ ok: true });
    });

    it('stops at start-up on a secret that does not decode, naming its variable', () => {
      expect(() => served('whsec_!!!')).toThrow(ConfigError);
      expect(() => served('whsec_!!!')).toThrow(/HOOKS_WEBHOOK_SECRET/);
      const hexSpec = { ...standardLike, secretEncoding: 'hex' };
      expect(() => served('xyz', hexSpec)).toThrow(/HOOKS_WEBHOOK_SECRET: must be hex/);
    });
  });
});

describe("docs/providers.md's SOURCES_FILE examples", () => {
  it('are valid as written: each source they declare is served once its secret is set', () => {
    const docs = readFileSync(join(import.meta.dirname, '../../../../docs/providers.md'), 'utf8');
    const section = docs.slice(
      docs.indexOf('## Custom sources'),
      docs.indexOf('## Adding a built-in provider'),
    );
    const examples = [...section.matchAll(/```json\n([\s\S]*?)```/g)].map((m) => m[1] as string);
    expect(examples.length).toBeGreaterThan(0);
    for (const example of examples) {
      const names = Object.keys(JSON.parse(example).sources);
      const secrets = Object.fromEntries(
        names.map((name) => [`${name.toUpperCase().replaceAll('-', '_')}_WEBHOOK_SECRET`, 'whsec_c2VjcmV0']),
      );
      const live = createProviders(
        parseIngestEnv({ SOURCES_FILE: file(example), ALLOW_SHORT_SECRETS: '1', ...secrets }),
      );
      expect([...live.keys()]).toEqual(expect.arrayContaining(names));
    }
  });
});
