import twilioLib from 'twilio';
import { describe, expect, it } from 'vitest';
import { servedSource } from '../testing/providers.ts';
import type { Provider, Verification } from '../verify/types.ts';

/**
 * twilio-node's own validation vectors (its spec/validation.spec.js and
 * spec/unit/webhooks/webhooks.spec.js): form parameters over URL variants, and JSON webhooks whose
 * URL carries `bodySHA256`. Each is also checked with the library itself, so a vector copied
 * wrong fails here rather than passing against our reading of the scheme.
 */
const { getExpectedTwilioSignature, validateRequest, validateRequestWithBody } = twilioLib;
// twilio-node's test token: shorter than a real Auth Token, hence the test set-up's opt-out.
const TOKEN = '12345';
const provider = servedSource('twilio', { TWILIO_AUTH_TOKEN: TOKEN, ALLOW_SHORT_SECRETS: '1' }) as Provider;
const REQUEST_URL = 'https://mycompany.com/myapp.php?foo=1&bar=2';
const PARAMS = {
  CallSid: 'CA1234567890ABCDE',
  Caller: '+14158675309',
  Digits: '1234',
  From: '+14158675309',
  To: '+18005551212',
};
const BODY = '{"property": "value", "boolean": true}';
const BODY_SHA256 = '0a1ff7634d9ab3b95db5c9a2dfe9416e41502b283a80c7cf19632632f96e6620';
const EMPTY_SHA256 = '44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a';

const form = (params: Record<string, string | string[]>) => {
  const out = new URLSearchParams();
  for (const [name, value] of Object.entries(params)) for (const v of [value].flat()) out.append(name, v);
  return out.toString();
};
const deliver = (
  p: Provider,
  body: string,
  signature: string,
  url: string,
  contentType = 'application/x-www-form-urlencoded',
) =>
  p.verify({
    rawBody: Buffer.from(body),
    headers: new Headers({
      'content-type': contentType,
      'x-twilio-signature': signature,
      'i-twilio-idempotency-token': 'idem-vector',
    }),
    url,
    method: 'POST',
    nowMs: Date.now(),
  });
const accepted = (v: Verification) => v.ok && 'event' in v;

describe('twilio-node vectors: form parameters', () => {
  it.each([
    ['the URL as signed', REQUEST_URL, 'RSOYDt4T1cUTdK1PDd93/VVr8B8=', PARAMS],
    [
      'https with a port, signed without it',
      REQUEST_URL.replace('.com', '.com:1234'),
      'RSOYDt4T1cUTdK1PDd93/VVr8B8=',
      PARAMS,
    ],
    [
      'http with a port, signed with it',
      REQUEST_URL.replace('.com', '.com:1234').replace('https', 'http'),
      'Zmvh+3yNM1Phv2jhDCwEM3q5ebU=',
      PARAMS,
    ],
    ['https without a port, signed with :443', REQUEST_URL, 'kvajT1Ptam85bY51eRf/AJRuM3w=', PARAMS],
    [
      'http without a port, signed with :80',
      REQUEST_URL.replace('https', 'http'),
      '0ZXoZLH/DfblKGATFgpif+LLRf4=',
      PARAMS,
    ],
    [
      'a URL with credentials',
      'https://user:pass@mycompany.com/myapp.php?foo=1&bar=2',
      'CukzLTc1tT5dXEDIHm/tKBanW10=',
      PARAMS,
    ],
    [
      'a URL with a user name only',
      'https://user@mycompany.com/myapp.php?foo=1&bar=2',
      '2YRLlVAflCqxaNicjMpJcSTgzSs=',
      PARAMS,
    ],
    [
      'a URL with credentials, signed with :443',
      'https://user:pass@mycompany.com/myapp.php?foo=1&bar=2',
      'ZQFR1PTIZXF2MXB8ZnKCvnnA+rI=',
      PARAMS,
    ],
    [
      'special characters in the query',
      `${REQUEST_URL}&Body=It's+amazing`,
      'dsq4Ehbj6cs+KdTkpF5sSSplOWw=',
      PARAMS,
    ],
    [
      'an array parameter',
      REQUEST_URL,
      '83O6e2vORAoJHUNzJjDWN1jz+BA=',
      { 'MessagingBinding.Address': ['+1325xxxxxxx', '+1415xxxxxxx'] },
    ],
    [
      'an array parameter in the other order',
      REQUEST_URL,
      '83O6e2vORAoJHUNzJjDWN1jz+BA=',
      { 'MessagingBinding.Address': ['+1415xxxxxxx', '+1325xxxxxxx'] },
    ],
    [
      'repeated and multiple values',
      REQUEST_URL,
      'IK+Dwps556ElfBT0I3Rgjkr1wJU=',
      { Sid: 'CA123', SidAccount: 'AC123', Digits: ['5678', '1234', '1234'] },
    ],
  ])('accepts %s', async (_, url, signature, params) => {
    expect(validateRequest(TOKEN, signature, url, params)).toBe(true);
    expect(await deliver(provider, form(params), signature, url)).toMatchObject({
      ok: true,
      event: { id: 'idem-vector' },
    });
  });

  it('refuses the wrong signature, and a URL with another query', async () => {
    expect(accepted(await deliver(provider, form(PARAMS), 'WRONG_SIGNATURE', REQUEST_URL))).toBe(false);
    expect(
      accepted(await deliver(provider, form(PARAMS), 'RSOYDt4T1cUTdK1PDd93/VVr8B8=', `${REQUEST_URL}&x=1`)),
    ).toBe(false);
  });
});

describe('twilio-node vectors: URL variants (quotes and ports)', () => {
  const token = 's3cr3t';
  const quoting = servedSource('twilio', { TWILIO_AUTH_TOKEN: token, ALLOW_SHORT_SECRETS: '1' }) as Provider;
  const plain = "https://example.com/path?test=param'WithQuote";
  const escaped = 'https://example.com/path?test=param%27WithQuote';
  it.each([
    [
      'signed with :443, received with it',
      'https://example.com:443/path?test=param',
      'https://example.com:443/path?test=param',
    ],
    [
      'signed with :443, received without',
      'https://example.com:443/path?test=param',
      'https://example.com/path?test=param',
    ],
    [
      'signed without a port, received without',
      'https://example.com/path?test=param',
      'https://example.com/path?test=param',
    ],
    [
      'signed without a port, received with :443',
      'https://example.com/path?test=param',
      'https://example.com:443/path?test=param',
    ],
    ["signed with ', received with '", plain, plain],
    ["signed with ', received as %27", plain, escaped],
    ["signed with %27, received with '", escaped, plain],
    ['signed with %27, received as %27', escaped, escaped],
  ])('accepts a URL %s', async (_, signedUrl, receivedUrl) => {
    const signature = getExpectedTwilioSignature(token, signedUrl, {});
    expect(validateRequest(token, signature, receivedUrl, {})).toBe(true);
    expect(
      accepted(
        await deliver(
          quoting,
          form({ a: '1' }),
          getExpectedTwilioSignature(token, signedUrl, { a: '1' }),
          receivedUrl,
        ),
      ),
    ).toBe(true);
  });

  it('refuses a URL whose query differs', async () => {
    const signature = getExpectedTwilioSignature(token, 'https://example.com/path?test=param', { a: '1' });
    expect(
      accepted(await deliver(quoting, form({ a: '1' }), signature, 'https://example.com/path?test=param2')),
    ).toBe(false);
  });
});

describe('twilio-node vectors: JSON webhooks (bodySHA256)', () => {
  const JSON_TYPE = 'application/json';
  const withHash = `${REQUEST_URL}&bodySHA256=${BODY_SHA256}`;
  it.each([
    ['a body', withHash, 'a9nBmqA0ju/hNViExpshrM61xv4=', BODY],
    ['an empty object', `${REQUEST_URL}&bodySHA256=${EMPTY_SHA256}`, 'Ldidvp12m26NI7eqEvxnEpkd9Hc=', '{}'],
    [
      'a URL with only bodySHA256',
      `https://mycompany.com/myapp.php?bodySHA256=${BODY_SHA256}`,
      'y77kIzt2vzLz71DgmJGsen2scGs=',
      BODY,
    ],
  ])('accepts %s, as validateRequestWithBody does', async (_, url, signature, body) => {
    expect(validateRequestWithBody(TOKEN, signature, url, body)).toBe(true);
    const result = await deliver(provider, body, signature, url, JSON_TYPE);
    expect(result).toMatchObject({ ok: true, event: { id: 'idem-vector', idUnsigned: true } });
    // Stored as received: the worker gets the JSON itself.
    expect(result.ok && 'event' in result && result.event.payload).toBeFalsy();
  });

  it.each([
    ['another body', withHash, 'a9nBmqA0ju/hNViExpshrM61xv4=', BODY.replace('value', 'valuE')],
    ['another bodySHA256', withHash.slice(0, -1), 'a9nBmqA0ju/hNViExpshrM61xv4=', BODY],
    ['no bodySHA256', REQUEST_URL, 'RSOYDt4T1cUTdK1PDd93/VVr8B8=', BODY],
  ])('refuses %s with one 401', async (_, url, signature, body) => {
    expect(validateRequestWithBody(TOKEN, signature, url, body)).toBe(false);
    expect(await deliver(provider, body, signature, url, JSON_TYPE)).toMatchObject({
      ok: false,
      reason: 'invalid_signature',
    });
  });

  it('names the event from a JSON object’s sid and status when there is no idempotency token', async () => {
    const body = JSON.stringify({ MessageSid: 'SM0000000000000000000000000000000j', MessageStatus: 'read' });
    const sha = (await import('node:crypto')).createHash('sha256').update(body).digest('hex');
    const url = `https://hooks.example.com/webhooks/twilio?bodySHA256=${sha}`;
    const result = await provider.verify({
      rawBody: Buffer.from(body),
      headers: new Headers({
        'content-type': JSON_TYPE,
        'x-twilio-signature': getExpectedTwilioSignature(TOKEN, url, {}),
      }),
      url,
      method: 'POST',
      nowMs: Date.now(),
    });
    expect(result).toMatchObject({
      ok: true,
      event: { id: 'SM0000000000000000000000000000000j:read', type: 'message.read' },
    });
  });
});
