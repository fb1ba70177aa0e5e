import { eventJobSchema } from '@oncehook/shared';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createTestApp, readJson, type TestApp } from '../testing/app.ts';
import { SIGNERS } from '../testing/deliveries.ts';

/**
 * Every built-in provider through the real route and a real Redis: a valid delivery is accepted
 * once, a redelivery of the same provider id is a duplicate, a forged one leaves no trace.
 */
const WHSEC = `whsec_${Buffer.from('route-test-secret-24-bytes').toString('base64')}`;
const ENV = {
  STRIPE_WEBHOOK_SECRET: 'whsec_route',
  GITHUB_WEBHOOK_SECRET: 'gh-route',
  SHOPIFY_WEBHOOK_SECRET: 'shop-route',
  SLACK_SIGNING_SECRET: 'slack-route',
  STANDARD_WEBHOOK_SECRET: WHSEC,
};
const NOW = 1_750_000_000_000;

const CASES = [
  {
    source: 'stripe' as const,
    secret: ENV.STRIPE_WEBHOOK_SECRET,
    id: 'evt_route_1',
    body: JSON.stringify({
      id: 'evt_route_1',
      object: 'event',
      type: 'checkout.session.completed',
      data: {},
    }),
    type: 'checkout.session.completed',
  },
  {
    source: 'github' as const,
    secret: ENV.GITHUB_WEBHOOK_SECRET,
    id: '0b989ba4-242f-11e5-81e1-c7b6966d2516',
    body: JSON.stringify({ ref: 'refs/heads/main', repository: { full_name: 'o/r' }, commits: [] }),
    type: 'push',
  },
  {
    source: 'shopify' as const,
    secret: ENV.SHOPIFY_WEBHOOK_SECRET,
    id: 'b54557e4-bdd9-4b37-8a5f-bf7d70bcd043',
    body: JSON.stringify({ id: 820982911946154500, total_price: '10.00' }),
    type: 'orders/create',
  },
  {
    source: 'slack' as const,
    secret: ENV.SLACK_SIGNING_SECRET,
    id: 'Ev0ROUTE1',
    body: JSON.stringify({ type: 'event_callback', event_id: 'Ev0ROUTE1', event: { type: 'app_mention' } }),
    type: 'app_mention',
  },
  {
    source: 'standard' as const,
    secret: WHSEC,
    id: 'msg_route_1',
    body: JSON.stringify({ type: 'invoice.paid', data: { id: 'in_1' } }),
    type: 'invoice.paid',
  },
];

let now = NOW;
let t: TestApp;
beforeEach(async () => {
  now = NOW;
  t = await createTestApp(ENV, { now: () => now });
});
afterEach(async () => {
  await t.close();
});

describe.each(CASES)('POST /webhooks/$source', ({ source, secret, id, body, type }) => {
  const signed = (nowMs = now, key = secret) => SIGNERS[source]({ body, secret: key, id, nowMs });

  it('accepts a valid delivery once and enqueues the signed body under the provider id', async () => {
    const res = await t.post(`/webhooks/${source}`, body, await signed());
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ received: true, duplicate: false });
    const job = await t.jobOf(source, id);
    expect(eventJobSchema.parse(job?.data)).toMatchObject({ source, eventId: id, type, payload: body });
  });

  it('answers a redelivery of the same id, signed again a minute later, duplicate:true', async () => {
    await t.post(`/webhooks/${source}`, body, await signed());
    now += 60_000;
    const again = await t.post(`/webhooks/${source}`, body, await signed());
    expect(await again.json()).toEqual({ received: true, duplicate: true });
    expect((await t.traces()).jobs).toBe(1);
    const status = await readJson(await t.get(`/status/${source}/${encodeURIComponent(id)}`));
    expect(status).toMatchObject({ source, eventId: id, deliveries: 2, replays: 0 });
  });

  it('refuses a delivery signed with another secret with 401 and stores nothing', async () => {
    const res = await t.post(`/webhooks/${source}`, body, await signed(now, secret.replace(/.$/, 'X')));
    expect(res.status).toBe(401);
    expect((await readJson(res)).error).toMatchObject({ code: 'invalid_signature' });
    expect(await t.traces()).toEqual({ records: [], jobs: 0 });
    expect((await t.get(`/status/${source}/${encodeURIComponent(id)}`)).status).toBe(404);
  });

  it('refuses a delivery without its signature headers with 401 and stores nothing', async () => {
    expect((await t.post(`/webhooks/${source}`, body)).status).toBe(401);
    expect(await t.traces()).toEqual({ records: [], jobs: 0 });
  });
});

describe('timestamps against the route clock', () => {
  it.each(['stripe', 'slack', 'standard'] as const)(
    '%s: a delivery signed 6 minutes ago or ahead is 401',
    async (source) => {
      const c = CASES.find((x) => x.source === source)!;
      for (const skew of [-360_000, 360_000]) {
        const headers = await SIGNERS[source]({
          body: c.body,
          secret: c.secret,
          id: c.id,
          nowMs: now + skew,
        });
        expect((await t.post(`/webhooks/${source}`, c.body, headers)).status).toBe(401);
      }
      expect(await t.traces()).toEqual({ records: [], jobs: 0 });
    },
  );
});

describe('provider specifics through the route', () => {
  it('answers Slack url_verification with the challenge and stores nothing', async () => {
    const body = JSON.stringify({ token: 't', challenge: 'abc123', type: 'url_verification' });
    const res = await t.post(
      '/webhooks/slack',
      body,
      await SIGNERS.slack({ body, secret: ENV.SLACK_SIGNING_SECRET, id: '', nowMs: now }),
    );
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ challenge: 'abc123' });
    expect(await t.traces()).toEqual({ records: [], jobs: 0 });
  });

  it('accepts a GitHub form-encoded delivery and enqueues the JSON inside it', async () => {
    const json = JSON.stringify({ ref: 'refs/heads/main', repository: { full_name: 'o/r' } });
    const form = `payload=${encodeURIComponent(json)}`;
    const headers = await SIGNERS.github({
      body: form,
      secret: ENV.GITHUB_WEBHOOK_SECRET,
      id: 'form-1',
      nowMs: now,
    });
    const res = await t.post('/webhooks/github', form, {
      ...headers,
      'content-type': 'application/x-www-form-urlencoded',
    });
    expect(res.status).toBe(200);
    const job = await t.jobOf('github', 'form-1');
    expect(eventJobSchema.parse(job?.data).payload).toBe(json);
  });

  it('keeps form bodies for GitHub only: 415 elsewhere', async () => {
    const res = await t.post('/webhooks/stripe', 'a=b', {
      'content-type': 'application/x-www-form-urlencoded',
    });
    expect(res.status).toBe(415);
  });

  it('does not serve a provider whose secret is not configured', async () => {
    const bare = await createTestApp();
    try {
      for (const source of ['stripe', 'github', 'shopify', 'slack', 'standard']) {
        expect((await bare.post(`/webhooks/${source}`, '{}')).status).toBe(404);
      }
    } finally {
      await bare.close();
    }
  });
});
