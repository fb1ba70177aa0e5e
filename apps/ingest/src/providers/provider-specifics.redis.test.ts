import { eventJobSchema } from '@oncehook/shared';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createTestApp, type TestApp } from '../testing/app.ts';
import { SIGNERS } from '../testing/deliveries.ts';

/**
 * What only some providers do, through the real route and a real Redis: Slack's handshake,
 * GitHub's form-encoded deliveries. What every provider does (valid, tampered, wrong secret,
 * missing headers, clocks, rotation, duplicates, captures) is the conformance suite's.
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

let now = NOW;
let t: TestApp;
beforeEach(async () => {
  now = NOW;
  t = await createTestApp(ENV, { now: () => now });
});
afterEach(async () => {
  await t.close();
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
});
