import { eventTag } from '@oncehook/shared';
import twilioLib from 'twilio';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createTestApp, readJson, type TestApp } from '../testing/app.ts';

/**
 * Twilio signs the URL and the decoded, sorted parameters, and its event id (the idempotency token)
 * travels outside the signature. One captured delivery, re-sent as other bytes carrying the same
 * parameters (reordered, `%41` for `A`, a pair repeated, trailing `&`s, the signature's padding
 * bits changed) under a new token each time, must stay one event: every copy a counted replay.
 */
const TOKEN = 'twilio-capture-auth-token-0123456';
const URL_ = 'http://localhost/webhooks/twilio';
const params = {
  MessageSid: 'SMa0000000000000000000000000000001',
  MessageStatus: 'delivered',
  AccountSid: 'AC00000000000000000000000000000001',
  Body: 'A charge of 42.00',
};
const signature = twilioLib.getExpectedTwilioSignature(TOKEN, URL_, params);

let t: TestApp;
beforeEach(async () => {
  t = await createTestApp({ TWILIO_AUTH_TOKEN: TOKEN });
});
afterEach(async () => {
  await t.close();
});

const send = (body: string, token: string, sig = signature) =>
  t.post('/webhooks/twilio', body, {
    'content-type': 'application/x-www-form-urlencoded',
    'x-twilio-signature': sig,
    'i-twilio-idempotency-token': token,
  });

/** The n-th byte string that carries exactly the captured parameters. */
function variant(n: number): string {
  const pairs = Object.entries(params).map(([k, v]) => `${k}=${encodeURIComponent(v)}`);
  const order = n % 2 === 0 ? pairs : [...pairs].reverse();
  let body = order.join('&');
  if (n % 3 === 0) body = body.replace('A%20charge', '%41%20charge');
  if (n % 5 === 0) body += `&${pairs[1]}`;
  return body + '&'.repeat(1 + Math.floor(n / 2));
}

/** The same signature bytes, written with other padding bits in its last base64 digit. */
function samePaddedSignature(n: number): string {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';
  const last = alphabet.indexOf(signature.at(-2) as string);
  return `${signature.slice(0, -2)}${alphabet[(last & ~3) | (n % 4)]}=`;
}

describe('twilio: a captured delivery re-sent as other bytes under new tokens', () => {
  it('stays one event: 100 copies are counted as 100 copies, and nothing is stored for them', async () => {
    const first = await send(new URLSearchParams(params).toString(), 'idem-original');
    expect(first.status).toBe(200);
    // A copy is a replay once the original is durable beyond doubt: a worker has its job.
    await t.startedByWorker('twilio', 'idem-original');

    const bodies = Array.from({ length: 100 }, (_, n) => variant(n));
    expect(new Set(bodies).size).toBe(100);
    for (const [n, body] of bodies.entries()) {
      const res = await send(body, `idem-forged-${n}`, samePaddedSignature(n));
      expect(res.status).toBe(200);
    }

    expect((await t.traces()).jobs).toBe(1);
    const status = await readJson(await t.get('/status/twilio/idem-original'));
    expect(status).toMatchObject({ deliveries: 1, copies: 100 });
    for (const n of [0, 37, 99]) {
      expect(await t.redis.exists(t.keys.event(eventTag('twilio', `idem-forged-${n}`)))).toBe(0);
    }
    const metrics = await (await t.app.request('/metrics')).text();
    expect(metrics).toContain('oncehook_deliveries_total{source="twilio",outcome="copy"} 100');
  });

  it('keeps two deliveries that differ in a signed parameter two events', async () => {
    const other = { ...params, MessageStatus: 'read' };
    const otherSig = twilioLib.getExpectedTwilioSignature(TOKEN, URL_, other);
    await send(new URLSearchParams(params).toString(), 'idem-a');
    const res = await send(new URLSearchParams(other).toString(), 'idem-b', otherSig);
    expect(res.status).toBe(200);
    expect((await t.traces()).jobs).toBe(2);
  });
});
