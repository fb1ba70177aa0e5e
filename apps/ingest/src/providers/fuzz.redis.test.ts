import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, type TestApp } from '../testing/app.ts';
import { exampleOf, SIGNERS } from '../testing/deliveries.ts';
import { PROVIDER_LIST, PROVIDERS } from './registry.ts';

/**
 * Random bodies and headers thrown at every source, built-in and custom: the ingest must never
 * answer 5xx (Redis is up), and nothing without a valid signature may reach Redis or the queue.
 */
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
  ...Object.fromEntries(PROVIDER_LIST.map((p) => [p.secretEnv[0], exampleOf(p.name).secret('fuzz')])),
  ACME_WEBHOOK_SECRET: 'acme-fuzz',
  SOURCES_FILE: sourcesFile,
};
// Every registered provider (its secret set, so each one verifies), and a custom source.
const SIGNED = PROVIDER_LIST.map((p) => p.name);
const SOURCES = [...SIGNED, 'acme'];

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
    'shopify-hmac-sha256': fc.oneof(b64, printable(60)),
    'shopify-topic': printable(20),
    'x-shopify-shop-domain': printable(30),
    'x-shopify-api-version': printable(10),
    'webhook-id': printable(40),
    'svix-id': printable(40),
    'svix-timestamp': fc.oneof(fc.constant(String(nowS())), printable(12)),
    'svix-signature': fc.oneof(
      b64.map((s) => `v1,${s}`),
      printable(120),
    ),
    'x-twilio-signature': fc.oneof(
      fc.uint8Array({ minLength: 20, maxLength: 20 }).map((b) => Buffer.from(b).toString('base64')),
      printable(40),
    ),
    'i-twilio-idempotency-token': printable(40),
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
  // Form bodies: Slack commands and interactions, Twilio parameters, GitHub's payload field.
  fc
    .dictionary(
      fc.constantFrom(
        'command',
        'trigger_id',
        'payload',
        'ssl_check',
        'MessageSid',
        'MessageStatus',
        'CallSid',
        'x',
      ),
      printable(30),
    )
    .map((o) => Buffer.from(new URLSearchParams(o).toString())),
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
          const provider = PROVIDERS[source];
          const secret = exampleOf(provider.name).secret('fuzz');
          const headers = await SIGNERS[source]({ body, secret, id: id.trim(), nowMs: Date.now() });
          const jobsBefore = (await t.traces()).jobs;
          const res = await send(source, Buffer.from(body), {
            'content-type': exampleOf(provider.name).contentType ?? 'application/json',
            ...headers,
          });
          expect(res.status).toBeLessThan(500);
          if (res.status === 200 && res.headers.get('content-type')?.includes('json')) {
            const answer = (await res.json()) as { duplicate?: boolean };
            if (answer.duplicate === false) accepted++;
          } else if (res.status === 200) {
            // Answered in the provider's own format (Twilio's TwiML), which does not say whether it
            // was new: at most one job more than before.
            const added = (await t.traces()).jobs - jobsBefore;
            expect([0, 1]).toContain(added);
            accepted += added;
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
