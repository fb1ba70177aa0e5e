import { ConfigError, eventJobSchema } from '@oncehook/shared';
import { Webhook as SvixWebhook } from 'svix';
import twilioLib from 'twilio';
import { afterEach, describe, expect, it } from 'vitest';
import { parseIngestEnv } from '../env.ts';
import { createTestApp, readJson, type TestApp } from '../testing/app.ts';
import { SIGNERS } from '../testing/deliveries.ts';

/**
 * What real senders put on the wire, through the route: Twilio's URL signature behind PUBLIC_URL,
 * Slack's form bodies, Shopify's newer headers, Svix's header names, Stripe's thin events.
 */
const ENV = {
  TWILIO_AUTH_TOKEN: 'twilio-route-token',
  SLACK_SIGNING_SECRET: 'slack-route',
  SHOPIFY_WEBHOOK_SECRET: 'shop-route',
  STANDARD_WEBHOOK_SECRET: `whsec_${Buffer.from('route-test-secret-24-bytes').toString('base64')}`,
  STRIPE_WEBHOOK_SECRET: 'whsec_route',
};
const FORM = 'application/x-www-form-urlencoded';

let t: TestApp | undefined;
const app = async (env: Record<string, string> = {}) => {
  t = await createTestApp({ ...ENV, ...env });
  return t;
};
afterEach(async () => {
  await t?.close();
  t = undefined;
});

describe('twilio: the signed URL', () => {
  const params = {
    MessageSid: 'SM00000000000000000000000000000001',
    MessageStatus: 'sent',
    AccountSid: 'AC1',
  };
  const body = new URLSearchParams(params).toString();
  const sign = (url: string) => ({
    'content-type': FORM,
    'x-twilio-signature': twilioLib.getExpectedTwilioSignature(ENV.TWILIO_AUTH_TOKEN, url, params),
  });

  it('is PUBLIC_URL + the path and query as received, when PUBLIC_URL is set', async () => {
    const a = await app({ PUBLIC_URL: 'https://hooks.example.com/base/' });
    const signed = sign('https://hooks.example.com/base/webhooks/twilio?tenant=7');
    const res = await a.post('/webhooks/twilio?tenant=7', body, signed);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/xml/);
    expect(await res.text()).toContain('<Response></Response>');
    const job = eventJobSchema.parse((await a.jobOf('twilio', `${params.MessageSid}:sent`))?.data);
    expect(JSON.parse(job.payload)).toEqual(params);
    expect(job.type).toBe('message.sent');
    // Another query string is another URL.
    expect((await a.post('/webhooks/twilio?tenant=8', body, signed)).status).toBe(401);
  });

  it('is the URL as received without PUBLIC_URL: one signed for the public address is refused', async () => {
    const a = await app();
    expect(
      (await a.post('/webhooks/twilio', body, sign('https://hooks.example.com/webhooks/twilio'))).status,
    ).toBe(401);
    expect((await a.post('/webhooks/twilio', body, sign('http://localhost/webhooks/twilio'))).status).toBe(
      200,
    );
    expect(await a.traces()).toMatchObject({ jobs: 1 });
  });

  it('PUBLIC_URL must be an http(s) URL without query or fragment', () => {
    for (const bad of ['hooks.example.com', 'ftp://x', 'https://x/?a=1', 'https://x/#f']) {
      expect(() => parseIngestEnv({ PUBLIC_URL: bad })).toThrow(ConfigError);
    }
  });
});

describe('slack: slash commands, interactivity, ssl_check and retries', () => {
  const signed = (body: string, extra: Record<string, string> = {}) =>
    SIGNERS.slack({ body, secret: ENV.SLACK_SIGNING_SECRET, id: '', nowMs: Date.now() }).then((h) => ({
      ...h,
      'content-type': FORM,
      ...extra,
    }));
  const command = new URLSearchParams({
    command: '/deploy',
    text: 'prod',
    trigger_id: '13345224609.738474920.8088930838d88f008e0',
    response_url: 'https://hooks.slack.com/commands/T1/1/x',
  }).toString();

  it('accepts a slash command with an empty 200, once, typed by its command', async () => {
    const a = await app();
    const res = await a.post('/webhooks/slack', command, await signed(command));
    expect([res.status, await res.text()]).toEqual([200, '']);
    const job = eventJobSchema.parse(
      (await a.jobOf('slack', '13345224609.738474920.8088930838d88f008e0'))?.data,
    );
    expect(job.type).toBe('/deploy');
    expect(JSON.parse(job.payload)).toMatchObject({ command: '/deploy', text: 'prod' });
    // The same invocation again (a capture re-sent within the tolerance): no second job.
    expect((await a.post('/webhooks/slack', command, await signed(command))).status).toBe(200);
    expect((await a.traces()).jobs).toBe(1);
  });

  it('accepts an interaction (payload=) with an empty 200, and stores its JSON', async () => {
    const a = await app();
    const json = JSON.stringify({ type: 'view_submission', trigger_id: '99.88.77', view: { id: 'V1' } });
    const body = `payload=${encodeURIComponent(json)}`;
    const res = await a.post('/webhooks/slack', body, await signed(body));
    expect([res.status, await res.text()]).toEqual([200, '']);
    expect(eventJobSchema.parse((await a.jobOf('slack', '99.88.77'))?.data)).toMatchObject({
      type: 'view_submission',
      payload: json,
    });
  });

  it('answers ssl_check with an empty 200 and stores nothing', async () => {
    const a = await app();
    const res = await a.post('/webhooks/slack', 'ssl_check=1&token=x', await signed('ssl_check=1&token=x'));
    expect([res.status, await res.text()]).toEqual([200, '']);
    expect(await a.traces()).toEqual({ records: [], jobs: 0 });
  });

  it('answers an Events API retry (X-Slack-Retry-Num) as a duplicate of the first delivery', async () => {
    const a = await app();
    const body = JSON.stringify({
      type: 'event_callback',
      event_id: 'Ev0RETRY1',
      event: { type: 'message' },
    });
    const sign = (extra: Record<string, string> = {}) =>
      SIGNERS.slack({ body, secret: ENV.SLACK_SIGNING_SECRET, id: '', nowMs: Date.now() }).then((h) => ({
        ...h,
        ...extra,
      }));
    expect(await readJson(await a.post('/webhooks/slack', body, await sign()))).toEqual({
      received: true,
      duplicate: false,
    });
    const retry = await a.post(
      '/webhooks/slack',
      body,
      await sign({ 'x-slack-retry-num': '1', 'x-slack-retry-reason': 'http_timeout' }),
    );
    expect(await readJson(retry)).toEqual({ received: true, duplicate: true });
    expect((await a.traces()).jobs).toBe(1);
  });
});

describe('shopify: the newer shopify-* headers, and the required ones', () => {
  const body = JSON.stringify({ id: 820982911946154500, total_price: '10.00' });
  const headers = async () => {
    const classic = await SIGNERS.shopify({ body, secret: ENV.SHOPIFY_WEBHOOK_SECRET, id: 'x', nowMs: 0 });
    return {
      'shopify-hmac-sha256': classic['x-shopify-hmac-sha256'] as string,
      'shopify-topic': 'orders/paid',
      'shopify-shop-domain': 'example.myshopify.com',
      'shopify-api-version': '2025-07',
      'shopify-event-id': 'evt-new-family-1',
    };
  };

  it('accepts a delivery with only the shopify-* family, deduped on shopify-event-id', async () => {
    const a = await app();
    expect((await a.post('/webhooks/shopify', body, await headers())).status).toBe(200);
    expect(eventJobSchema.parse((await a.jobOf('shopify', 'evt-new-family-1'))?.data).type).toBe(
      'orders/paid',
    );
  });

  it('refuses one without its shop domain: 400 missing_header, nothing stored', async () => {
    const a = await app();
    const { 'shopify-shop-domain': _, ...without } = await headers();
    const res = await a.post('/webhooks/shopify', body, without);
    expect([res.status, (await readJson(res)).error.code]).toEqual([400, 'missing_header']);
    expect(await a.traces()).toEqual({ records: [], jobs: 0 });
  });
});

describe('standard: a delivery signed by Svix, with Svix’s header names', () => {
  it('is accepted (it used to be 401)', async () => {
    const a = await app();
    const body = JSON.stringify({ type: 'user.created', data: { id: 'user_1' } });
    const now = new Date();
    const res = await a.post('/webhooks/standard', body, {
      'svix-id': 'msg_svix_route_1',
      'svix-timestamp': String(Math.floor(now.getTime() / 1000)),
      'svix-signature': new SvixWebhook(ENV.STANDARD_WEBHOOK_SECRET).sign('msg_svix_route_1', now, body),
    });
    expect(await readJson(res)).toEqual({ received: true, duplicate: false });
    expect(eventJobSchema.parse((await a.jobOf('standard', 'msg_svix_route_1'))?.data).type).toBe(
      'user.created',
    );
  });
});

describe('stripe: thin events', () => {
  it('are recorded with their real type, prefixed thin:, and deduped on their id', async () => {
    const a = await app();
    const body = JSON.stringify({
      id: 'evt_thin_route_1',
      object: 'v2.core.event',
      type: 'v1.checkout.session.completed',
      related_object: { id: 'cs_1', type: 'checkout.session', url: '/v1/checkout/sessions/cs_1' },
    });
    const send = async () =>
      a.post(
        '/webhooks/stripe',
        body,
        await SIGNERS.stripe({ body, secret: ENV.STRIPE_WEBHOOK_SECRET, id: '', nowMs: Date.now() }),
      );
    expect(await readJson(await send())).toEqual({ received: true, duplicate: false });
    expect(await readJson(await send())).toEqual({ received: true, duplicate: true });
    expect(await readJson(await a.get('/status/stripe/evt_thin_route_1'))).toMatchObject({
      type: 'thin:v1.checkout.session.completed',
      deliveries: 2,
    });
  });
});
