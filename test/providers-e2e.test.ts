import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SIGNERS } from '@oncehook/ingest/sign';
import {
  fetchStatus,
  freePort,
  postJson,
  ROOT,
  type System,
  spawnApp,
  startSystem,
  waitFor,
} from '@oncehook/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

/**
 * Providers end to end, through a real ingest and a real worker (separate processes, a private
 * redis-server, fake payments and mail APIs that count Idempotency-Keys).
 */
const ENV = { STRIPE_WEBHOOK_SECRET: 'whsec_e2e', GITHUB_WEBHOOK_SECRET: 'gh-e2e', LOG_LEVEL: 'info' };
const checkout = readFileSync(join(ROOT, 'fixtures/stripe-checkout-session-completed.json'), 'utf8');
const push = readFileSync(join(ROOT, 'fixtures/github-push.json'), 'utf8');
const EVENT = (JSON.parse(checkout) as { id: string }).id;

let sys: System;
beforeAll(async () => {
  sys = await startSystem({ workers: 1, env: ENV });
});
afterAll(async () => {
  await sys?.stop();
});

const status = async (source: string, id: string) => {
  const res = await fetchStatus(sys.base, source, id);
  return { code: res.status, body: res.ok ? ((await res.json()) as Record<string, unknown>) : null };
};
const until = async (source: string, id: string, state: string) => {
  const deadline = Date.now() + 120_000;
  for (;;) {
    const s = await status(source, id);
    if (s.body?.state === state || Date.now() > deadline) return s;
    await new Promise((r) => setTimeout(r, 200));
  }
};
const sendStripe = async () =>
  postJson(
    `${sys.base}/webhooks/stripe`,
    checkout,
    await SIGNERS.stripe({ body: checkout, secret: ENV.STRIPE_WEBHOOK_SECRET, id: '', nowMs: Date.now() }),
  );

describe('Stripe checkout.session.completed delivered 3x', () => {
  it('sends one receipt and books one ledger entry; /status counts 3 deliveries', async () => {
    // Two at once (Stripe retrying a slow answer), then one more after the work is done.
    const first = await Promise.all([sendStripe(), sendStripe()]);
    expect(first.map((r) => r.status)).toEqual([200, 200]);
    expect(first.filter((r) => r.json?.duplicate === false)).toHaveLength(1);
    const done = await until('stripe', EVENT, 'completed');
    expect(done.body, sys.output().slice(-3000)).toMatchObject({ state: 'completed' });
    const third = await sendStripe();
    expect(third.json).toEqual({ received: true, duplicate: true });
    await new Promise((r) => setTimeout(r, 1000)); // time for a wrongly re-enqueued job to run

    expect(sys.apis.emails.size).toBe(1);
    const [receipt] = [...sys.apis.emails.values()];
    expect(receipt?.body.to).toBe('ada@example.com');
    expect(sys.apis.stats.noKey).toBe(0);
    expect(await sys.ledger()).toEqual({ entries: 1, totals: { USD: 4999 } });
    expect((await status('stripe', EVENT)).body).toMatchObject({
      state: 'completed',
      deliveries: 3,
      conflicts: 0,
    });
  });
});

describe('Stripe: a thin checkout.session.completed', () => {
  it('is recorded as thin:<type>, and sends its receipt only once the session could be fetched', async () => {
    const session = {
      id: 'cs_test_e2e_thin',
      amount_total: 1999,
      currency: 'usd',
      customer_details: { email: 'thin@example.com' },
    };
    sys.apis.checkoutSessions.set(session.id, session);
    const body = JSON.stringify({
      id: 'evt_e2e_thin_1',
      object: 'v2.core.event',
      type: 'v1.checkout.session.completed',
      livemode: false,
      created: '2025-06-15T12:00:00.000Z',
      related_object: {
        id: session.id,
        type: 'checkout.session',
        url: `/v1/checkout/sessions/${session.id}`,
      },
    });
    const receipts = () => [...sys.apis.emails.values()].filter((e) => e.body.to === 'thin@example.com');
    sys.apis.setDown(true, 'payments');
    try {
      const sent = await postJson(
        `${sys.base}/webhooks/stripe`,
        body,
        await SIGNERS.stripe({ body, secret: ENV.STRIPE_WEBHOOK_SECRET, id: '', nowMs: Date.now() }),
      );
      expect(sent.json).toEqual({ received: true, duplicate: false });
      expect((await until('stripe', 'evt_e2e_thin_1', 'retrying')).body).toMatchObject({ state: 'retrying' });
      expect(receipts()).toHaveLength(0);
    } finally {
      sys.apis.setDown(false, 'payments');
    }
    const done = await until('stripe', 'evt_e2e_thin_1', 'completed');
    expect(done.body, sys.output().slice(-3000)).toMatchObject({
      state: 'completed',
      type: 'thin:v1.checkout.session.completed',
      workflows: [expect.objectContaining({ name: 'stripe-thin-checkout' })],
    });
    expect(receipts()).toHaveLength(1);
    expect(receipts()[0]?.body.subject).toBe('Your receipt: $19.99');
    const calls = sys.apis.calls;
    expect(calls.lastIndexOf(`GET /v1/checkout/sessions/${session.id}`)).toBeGreaterThanOrEqual(0);
  });
});

describe('GitHub: a captured delivery re-sent with a new X-GitHub-Delivery', () => {
  it('is answered duplicate:true, counted as a replay, and the workflow runs once', async () => {
    const send = async (id: string) =>
      postJson(
        `${sys.base}/webhooks/github`,
        push,
        await SIGNERS.github({ body: push, secret: ENV.GITHUB_WEBHOOK_SECRET, id, nowMs: Date.now() }),
      );
    expect((await send('e2e-original')).json).toEqual({ received: true, duplicate: false });
    expect((await until('github', 'e2e-original', 'completed')).body).toMatchObject({ state: 'completed' });

    expect((await send('e2e-forged')).json).toEqual({ received: true, duplicate: true });
    await new Promise((r) => setTimeout(r, 500));
    expect((await status('github', 'e2e-forged')).code).toBe(404);
    expect((await status('github', 'e2e-original')).body).toMatchObject({
      state: 'completed',
      deliveries: 1,
      copies: 1,
      attempts: 1,
    });
  });
});

describe('start-up', () => {
  it('logs the live sources: only those whose secret is set', () => {
    const started = /"sources":\[([^\]]*)\]/.exec(sys.ingest.output())?.[1];
    expect(started?.split(',').sort()).toEqual(['"demo"', '"github"', '"stripe"']);
  });

  it('stops on a bad SOURCES_FILE with a message naming it', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'oncehook-bad-sources-'));
    const file = join(dir, 'sources.json');
    writeFileSync(file, JSON.stringify({ sources: { acme: { signature: {} } } }));
    const proc = spawnApp('ingest', { SOURCES_FILE: file, PORT: '1', REDIS_URL: 'redis://127.0.0.1:1' });
    const { code } = await proc.exited;
    expect(code).toBe(78);
    expect(proc.output()).toContain('SOURCES_FILE');
    expect(proc.output()).toContain('sources.acme.signature.header');
  });

  it('says at start-up that a declared source without its secret is not served, naming the variable', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'oncehook-sources-'));
    const file = join(dir, 'sources.json');
    const acme = { signature: { header: 'X-Acme-Signature' }, eventId: { jsonPath: 'id' } };
    writeFileSync(file, JSON.stringify({ sources: { acme } }));
    const proc = spawnApp('ingest', {
      SOURCES_FILE: file,
      PORT: String(await freePort()),
      REDIS_URL: 'redis://127.0.0.1:1',
    });
    try {
      await waitFor(
        () => proc.output().includes('ACME_WEBHOOK_SECRET'),
        20_000,
        `the warning (${proc.output()})`,
      );
      expect(proc.output()).toMatch(/SOURCES_FILE declares \\"acme\\" but ACME_WEBHOOK_SECRET is not set/);
    } finally {
      proc.kill();
      await proc.exited;
    }
  });
});
