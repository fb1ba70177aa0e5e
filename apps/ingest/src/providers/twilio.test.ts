import twilioLib from 'twilio';
import { describe, expect, it } from 'vitest';
import { SIGNERS } from '../testing/deliveries.ts';
import { servedSource } from '../testing/providers.ts';
import { macsComputedSoFar } from '../verify/signing.ts';
import type { Provider } from '../verify/types.ts';

const { getExpectedTwilioSignature, validateRequest } = twilioLib;
const TOKEN = '12345678901234567890123456789012';
const URL_ = 'https://hooks.example.com/webhooks/twilio?tenant=a%20b';
const status = {
  MessageSid: 'SM1f0e8ae6ade43cb3c0ce4525424e404f',
  MessageStatus: 'delivered',
  AccountSid: 'AC00000000000000000000000000000001',
  From: '+15017122661',
  To: '+15558675310',
  Body: 'Hé, ça marche? 1+1=2 & more',
};
const form = (params: Record<string, string | string[]>) => {
  const out = new URLSearchParams();
  for (const [name, value] of Object.entries(params)) for (const v of [value].flat()) out.append(name, v);
  return out.toString();
};
const make = (tokens = TOKEN) => servedSource('twilio', { TWILIO_AUTH_TOKEN: tokens }) as Provider;
const verify = (
  p: Provider,
  params: Record<string, string | string[]>,
  headers: Record<string, string>,
  url = URL_,
  contentType = 'application/x-www-form-urlencoded',
) =>
  p.verify({
    rawBody: Buffer.from(form(params)),
    headers: new Headers({ 'content-type': contentType, ...headers }),
    url,
    method: 'POST',
    nowMs: Date.now(),
  });
// Signed by Twilio's own library.
const signed = (
  params: Record<string, string | string[]>,
  url = URL_,
  token = TOKEN,
  algorithm?: string,
) => ({
  'x-twilio-signature': getExpectedTwilioSignature(token, url, params, algorithm),
});

describe('twilio verifier', () => {
  const provider = make();

  it('accepts parameters signed by the twilio library over the full URL, query included', async () => {
    expect(
      await verify(provider, status, { ...signed(status), 'i-twilio-idempotency-token': 'idem-1' }),
    ).toMatchObject({
      ok: true,
      event: { id: 'idem-1', type: 'message.delivered', idUnsigned: true },
    });
  });

  it('signs as Twilio does: the module signer passes the twilio library’s validateRequest', async () => {
    const headers = await SIGNERS.twilio({ body: form(status), secret: TOKEN, id: 'x', nowMs: 0, url: URL_ });
    expect(validateRequest(TOKEN, headers['x-twilio-signature'] as string, URL_, status)).toBe(true);
    expect(validateRequest('another-token', headers['x-twilio-signature'] as string, URL_, status)).toBe(
      false,
    );
  });

  it('sorts parameters by name and takes repeated ones, as the library does', async () => {
    const params = { ...status, MediaUrl: ['https://b.example/2', 'https://a.example/1'], aaa: 'first' };
    expect(await verify(provider, params, signed(params))).toMatchObject({ ok: true });
  });

  it('accepts the URL signed with or without its default port', async () => {
    const withPort = 'https://hooks.example.com:443/webhooks/twilio?tenant=a%20b';
    expect(await verify(provider, status, signed(status, withPort))).toMatchObject({ ok: true });
    expect(await verify(provider, status, signed(status), withPort)).toMatchObject({ ok: true });
  });

  it('accepts HMAC-SHA256 when the signature settings header names it', async () => {
    const settings = {
      'x-twilio-webhooks-signature-settings': 'key=webhooks_sharedkey_1,algorithm=HMAC_SHA256',
    };
    expect(
      await verify(provider, status, { ...signed(status, URL_, TOKEN, 'HMAC_SHA256'), ...settings }),
    ).toMatchObject({ ok: true });
    // The same signature, read as SHA1, is not valid.
    expect(await verify(provider, status, signed(status, URL_, TOKEN, 'HMAC_SHA256'))).toMatchObject({
      reason: 'invalid_signature',
    });
  });

  it.each([
    ['a tampered parameter', { ...status, MessageStatus: 'failed' }, signed(status), URL_],
    ['another URL (http)', status, signed(status), URL_.replace('https:', 'http:')],
    ['another path', status, signed(status), URL_.replace('/twilio', '/twilio2')],
    ['another token', status, signed(status, URL_, 'other-token'), URL_],
    ['no signature', status, {}, URL_],
    [
      'an unknown algorithm',
      status,
      { ...signed(status), 'x-twilio-webhooks-signature-settings': 'algorithm=HMAC_MD5' },
      URL_,
    ],
  ])('refuses %s with one 401', async (_, params, headers, url) => {
    expect(await verify(provider, params, headers, url)).toMatchObject({
      ok: false,
      reason: 'invalid_signature',
    });
  });

  it('accepts either token during a rotation (primary and secondary)', async () => {
    const rotating = make(`old-token,${TOKEN}`);
    expect(await verify(rotating, status, signed(status, URL_, 'old-token'))).toMatchObject({ ok: true });
    expect(await verify(rotating, status, signed(status))).toMatchObject({ ok: true });
  });

  it('without the idempotency token, dedupes on the signed sid and status', async () => {
    expect(await verify(provider, status, signed(status))).toMatchObject({
      ok: true,
      event: { id: 'SM1f0e8ae6ade43cb3c0ce4525424e404f:delivered', type: 'message.delivered' },
    });
    const call = {
      CallSid: 'CA0000000000000000000000000000000a',
      CallStatus: 'completed',
      AccountSid: 'AC1',
    };
    const result = await verify(provider, call, signed(call));
    expect(result).toMatchObject({
      ok: true,
      event: { id: `${call.CallSid}:completed`, type: 'call.completed' },
    });
    expect(result.ok && 'event' in result && result.event.idUnsigned).toBeFalsy();
  });

  it('stores the parameters as JSON and answers with empty TwiML', async () => {
    const result = await verify(provider, status, signed(status));
    if (!(result.ok && 'event' in result)) throw new Error('not accepted');
    expect(JSON.parse(result.event.payload ?? '')).toEqual(status);
    expect(result.event.answer?.body).toMatch(/<Response><\/Response>$/);
    expect(result.event.answer?.contentType).toMatch(/^text\/xml/);
  });

  it('refuses a body neither form-encoded nor JSON, JSON without bodySHA256, and parameters with neither token nor sid', async () => {
    expect(await verify(provider, status, signed(status), URL_, 'text/plain')).toMatchObject({
      reason: 'unsupported_media_type',
    });
    expect(await verify(provider, status, signed(status), URL_, 'application/json')).toMatchObject({
      reason: 'invalid_signature',
    });
    const bare = { AccountSid: 'AC1' };
    expect(await verify(provider, bare, signed(bare))).toMatchObject({ reason: 'invalid_event_id' });
  });

  it('computes at most two MACs per token (the URL with and without its port), however it is forged', async () => {
    const before = macsComputedSoFar();
    await verify(make(`a,b,${TOKEN}`), status, { 'x-twilio-signature': `${'A'.repeat(27)}=` });
    expect(macsComputedSoFar() - before).toBeLessThanOrEqual(6);
    const junk = macsComputedSoFar();
    await verify(provider, status, { 'x-twilio-signature': 'AAAA,'.repeat(1000) });
    expect(macsComputedSoFar() - junk).toBe(0);
  });

  it('is not served without TWILIO_AUTH_TOKEN', () => {
    expect(servedSource('twilio')).toBeUndefined();
  });
});
