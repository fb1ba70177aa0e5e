import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SIGNERS } from '../cli/sign.ts';
import { createTestApp, type TestApp } from '../testing/app.ts';
import { PROVIDERS } from './registry.ts';

/**
 * Random bodies and headers thrown at every source, built-in and custom: the ingest must never
 * answer 5xx (Redis is up), and nothing without a valid signature may reach Redis or the queue.
 */
const WHSEC = `whsec_${Buffer.from('fuzz-test-secret-24-bytes!').toString('base64')}`;
const sourcesFile = join(mkdtempSync(join(tmpdir(), 'oncehook-fuzz-')), 'sources.json');
writeFileSync(
  sourcesFile,
  JSON.stringify({
    sources: {
      acme: {
        signature: {
          header: 'X-Acme-Signature',
          prefix: 'sha256=',
          signed: '{timestamp}.{body}',
          timestamp: { header: 'X-Acme-Timestamp' },
        },
        eventId: { jsonPath: 'id' },
      },
    },
  }),
);
const ENV = {
  STRIPE_WEBHOOK_SECRET: 'whsec_fuzz',
  GITHUB_WEBHOOK_SECRET: 'gh-fuzz',
  SHOPIFY_WEBHOOK_SECRET: 'shop-fuzz',
  SLACK_SIGNING_SECRET: 'slack-fuzz',
  STANDARD_WEBHOOK_SECRET: WHSEC,
  DEMO_WEBHOOK_SECRET: 'demo-fuzz',
  ACME_WEBHOOK_SECRET: 'acme-fuzz',
  SOURCES_FILE: sourcesFile,
};
const SOURCES = ['stripe', 'github', 'shopify', 'slack', 'standard', 'demo', 'acme'] as const;
const SIGNED = ['stripe', 'github', 'shopify', 'slack', 'standard', 'demo'] as const;

const printable = (max: number) => fc.stringMatching(new RegExp(`^[ -~]{0,${max}}$`));
const hex = fc.stringMatching(/^[0-9a-f]{64}$/);
const b64 = fc.uint8Array({ minLength: 32, maxLength: 32 }).map((b) => Buffer.from(b).toString('base64'));
const nowS = () => Math.floor(Date.now() / 1000);
// Header values shaped like the real ones (right prefix, right length, fresh timestamp), and noise.
const signatureHeaders = fc.record(
  {
    'stripe-signature': fc.oneof(
      hex.map((h) => `t=${nowS()},v1=${h}`),
      printable(120),
    ),
    'x-hub-signature-256': fc.oneof(
      hex.map((h) => `sha256=${h}`),
      printable(80),
    ),
    'x-github-delivery': printable(40),
    'x-github-event': printable(20),
    'x-shopify-hmac-sha256': fc.oneof(b64, printable(60)),
    'x-shopify-event-id': printable(40),
    'x-slack-request-timestamp': fc.oneof(fc.constant(String(nowS())), printable(12)),
    'x-slack-signature': fc.oneof(
      hex.map((h) => `v0=${h}`),
      printable(80),
    ),
    'webhook-id': printable(40),
    'webhook-timestamp': fc.oneof(fc.constant(String(nowS())), printable(12)),
    'webhook-signature': fc.oneof(
      b64.map((s) => `v1,${s}`),
      printable(120),
    ),
    'x-oncehook-signature': fc.oneof(
      hex.map((h) => `sha256=${h}`),
      printable(80),
    ),
    'x-acme-signature': fc.oneof(
      hex.map((h) => `sha256=${h}`),
      printable(80),
    ),
    'x-acme-timestamp': fc.oneof(fc.constant(String(nowS())), printable(12)),
    'content-type': fc.constantFrom(
      'application/json',
      'application/json; charset=utf-8',
      'application/x-www-form-urlencoded',
      'text/plain',
    ),
  },
  { requiredKeys: ['content-type'] },
);
const bodies = fc.oneof(
  fc.json().map((s) => Buffer.from(s)),
  fc.string().map((s) => Buffer.from(s)),
  fc.uint8Array({ maxLength: 300 }).map((b) => Buffer.from(b)),
  fc
    .record({ id: printable(30), event_id: printable(30), type: printable(20), challenge: printable(10) })
    .map((o) => Buffer.from(JSON.stringify(o))),
);

let t: TestApp;
beforeAll(async () => {
  t = await createTestApp(ENV);
});
afterAll(async () => {
  await t.close();
});

const send = (source: string, body: Buffer, headers: Record<string, string>) =>
  t.app.request(`/webhooks/${source}`, { method: 'POST', body: new Uint8Array(body), headers });

describe('fuzz: every source', () => {
  it('never answers 5xx and stores nothing for deliveries without a valid signature', async () => {
    const statuses = new Map<number, number>();
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom(...SOURCES),
        bodies,
        signatureHeaders,
        async (source, body, headers) => {
          const res = await send(source, body, headers);
          statuses.set(res.status, (statuses.get(res.status) ?? 0) + 1);
          expect(res.status).toBeGreaterThanOrEqual(400);
          expect(res.status).toBeLessThan(500);
        },
      ),
      { numRuns: 600 },
    );
    expect(await t.traces()).toEqual({ records: [], jobs: 0 });
    expect([...statuses.keys()].every((s) => [400, 401, 415, 422].includes(s))).toBe(true);
  });

  it('never answers 5xx to validly signed random bodies, and enqueues only what it answers 200', async () => {
    let accepted = 0;
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom(...SIGNED),
        bodies.map((b) => b.toString('utf8')).filter((b) => b.length > 0),
        printable(40).filter((s) => s.trim().length > 0),
        async (source, body, id) => {
          const secret = ENV[PROVIDERS[source].secretEnv[0] as keyof typeof ENV];
          const headers = await SIGNERS[source]({ body, secret, id: id.trim(), nowMs: Date.now() });
          const res = await send(source, Buffer.from(body), {
            'content-type': 'application/json',
            ...headers,
          });
          expect(res.status).toBeLessThan(500);
          if (res.status === 200) {
            const answer = (await res.json()) as { duplicate?: boolean };
            if (answer.duplicate === false) accepted++;
          }
        },
      ),
      { numRuns: 300 },
    );
    const { jobs } = await t.traces();
    expect(jobs).toBe(accepted);
    expect(accepted).toBeGreaterThan(10); // the property reached the accept path, not only refusals
  });
});
