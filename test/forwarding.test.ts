import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, realpathSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { EXAMPLES, SIGNERS } from '@oncehook/ingest/sign';
import {
  adminHeaders,
  DESTINATION_SECRET,
  type DestinationHit,
  destinationsEnv,
  fetchStatus,
  freePort,
  postJson,
  ROOT,
  type System,
  spawnApp,
  startFakeDestination,
  startSystem,
  waitFor,
} from '@oncehook/testing';
import { Webhook } from 'standardwebhooks';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { webhookId } from '../apps/worker/src/forwarding/send.ts';

/**
 * Forwarding through real processes: the ingest, the demo's worker (`pnpm start:worker`, which
 * forwards because DESTINATIONS_FILE is set) and a real HTTP server as the destination, which
 * verifies every signature with the official `standardwebhooks` library.
 */
const STRIPE_SECRET = 'whsec_forwarding';
const TWILIO_TOKEN = 'forwarding-twilio-token';
let sys: System;
let orders: Awaited<ReturnType<typeof startFakeDestination>>;
let payments: Awaited<ReturnType<typeof startFakeDestination>>;
let receiverPort: number;

beforeAll(async () => {
  receiverPort = await freePort();
  orders = await startFakeDestination();
  payments = await startFakeDestination();
  sys = await startSystem({
    workers: 1,
    env: {
      STRIPE_WEBHOOK_SECRET: STRIPE_SECRET,
      TWILIO_AUTH_TOKEN: TWILIO_TOKEN,
      ...destinationsEnv([
        {
          name: 'orders-api',
          url: orders.url,
          sources: ['stripe', 'twilio'],
          types: ['checkout.session.*', 'message.*'],
        },
        // Beside the demo's own payment workflow: the event fans out to both.
        { name: 'payments-copy', url: payments.url, sources: ['demo'], types: ['payment.*'] },
        // docs/forwarding.md's Node receiver.
        {
          name: 'receiver',
          url: `http://127.0.0.1:${receiverPort}/`,
          sources: ['stripe'],
          types: ['invoice.created'],
        },
      ]),
    },
  });
});
afterAll(async () => {
  await sys?.stop();
  await orders?.close();
  await payments?.close();
});

const checkout = readFileSync(join(ROOT, 'fixtures/stripe-checkout-session-completed.json'), 'utf8');
const stripeEvent = (id: string, type = 'checkout.session.completed') =>
  JSON.stringify({ ...JSON.parse(checkout), id, type });
const sendStripe = async (body: string) =>
  postJson(
    `${sys.base}/webhooks/stripe`,
    body,
    await SIGNERS.stripe({ body, secret: STRIPE_SECRET, id: '', nowMs: Date.now() }),
  );
// biome-ignore lint/suspicious/noExplicitAny: answers are inspected freely
const status = async (source: string, id: string): Promise<any> => {
  const res = await fetchStatus(sys.base, source, id);
  return res.ok ? res.json() : null;
};
async function until(source: string, id: string, states: string[]) {
  const deadline = Date.now() + 60_000;
  for (;;) {
    const s = await status(source, id);
    if (states.includes(s?.state) || Date.now() > deadline) return s;
    await new Promise((r) => setTimeout(r, 100));
  }
}
const hitsOf = (d: typeof orders, eventId: string) =>
  d.hits.filter((h) => h.headers['x-oncehook-event-id'] === eventId);
const sameRequestIdentity = (hits: DestinationHit[]) => {
  expect(new Set(hits.map((h) => h.webhookId)).size).toBe(1);
  expect(new Set(hits.map((h) => h.idempotencyKey)).size).toBe(1);
};

describe('the request a destination receives', () => {
  it('is the JSON body byte for byte, its Content-Type, signed the Standard Webhooks way', async () => {
    // Spacing and key order a re-serialisation would lose.
    const body = stripeEvent('evt_fwd_json').replace('{', '{  "x" :  1 ,');
    expect((await sendStripe(body)).status).toBe(200);
    expect((await until('stripe', 'evt_fwd_json', ['completed']))?.state).toBe('completed');
    const [hit, ...more] = hitsOf(orders, 'evt_fwd_json');
    expect(more).toEqual([]);
    expect(hit?.verified).toBe(true);
    expect(hit?.body.equals(Buffer.from(body))).toBe(true);
    expect(hit?.headers).toMatchObject({
      'content-type': 'application/json',
      'x-oncehook-source': 'stripe',
      'x-oncehook-event-type': 'checkout.session.completed',
      'idempotency-key': 'stripe:evt_fwd_json:orders-api.deliver',
    });
    expect(hit?.webhookId).toMatch(/^msg_[A-Za-z0-9_-]+$/);
  });

  it('is a form-encoded delivery as a form, byte for byte', async () => {
    const twilio = EXAMPLES.twilio;
    const fixture = readFileSync(join(ROOT, 'fixtures', twilio.fixture), 'utf8');
    const { body, id } = twilio.nth(fixture, 7);
    const url = `${sys.base}/webhooks/twilio`;
    const headers = await SIGNERS.twilio({ body, secret: TWILIO_TOKEN, id, nowMs: Date.now(), url });
    const res = await fetch(url, { method: 'POST', body, headers });
    expect(res.status).toBe(200);
    expect((await until('twilio', id, ['completed']))?.state).toBe('completed');
    const [hit, ...more] = hitsOf(orders, id);
    expect(more).toEqual([]);
    expect(hit?.verified).toBe(true);
    expect(hit?.headers['content-type']).toBe('application/x-www-form-urlencoded');
    expect(hit?.body.toString()).toBe(body);
  });

  it('is not sent for a type no pattern matches', async () => {
    expect((await sendStripe(stripeEvent('evt_fwd_other', 'invoice.paid'))).status).toBe(200);
    expect((await until('stripe', 'evt_fwd_other', ['ignored', 'completed']))?.state).toBe('ignored');
    expect(hitsOf(orders, 'evt_fwd_other')).toEqual([]);
  });
});

describe('answers', () => {
  it('5xx, then 2xx: delivered once, every request with the same webhook-id and Idempotency-Key', async () => {
    let failing = 2;
    orders.answerWith((hit) =>
      hit.headers['x-oncehook-event-id'] === 'evt_fwd_5xx' && failing-- > 0
        ? { status: 503, body: 'busy' }
        : { status: 200, body: 'ok' },
    );
    expect((await sendStripe(stripeEvent('evt_fwd_5xx'))).status).toBe(200);
    const done = await until('stripe', 'evt_fwd_5xx', ['completed']);
    expect(done?.state).toBe('completed');
    const hits = hitsOf(orders, 'evt_fwd_5xx');
    expect(hits.map((h) => h.status)).toEqual([503, 503, 200]);
    sameRequestIdentity(hits);
    expect(hits.every((h) => h.verified)).toBe(true);
    // Every request shown, with what it was answered.
    const run = done.workflows.find((w: { name: string }) => w.name === 'orders-api');
    expect(run.requests.map((r: { status: number }) => r.status)).toEqual([503, 503]);
    expect(run.requests[0]).toMatchObject({ answer: 'busy' });
    // The request that delivered is the step's result.
    expect(run.steps[0].result).toMatchObject({ status: 200, answer: 'ok' });
    expect(run.attempts).toBe(1); // retried on the destination's schedule, not with job attempts
  });

  it('a 400 fails at once; once the service is fixed, its replay is delivered once', async () => {
    orders.answerWith((hit) =>
      hit.headers['x-oncehook-event-id'] === 'evt_fwd_400'
        ? { status: 400, body: 'unknown field' }
        : { status: 200, body: 'ok' },
    );
    expect((await sendStripe(stripeEvent('evt_fwd_400'))).status).toBe(200);
    expect((await until('stripe', 'evt_fwd_400', ['failed']))?.state).toBe('failed');
    expect(hitsOf(orders, 'evt_fwd_400').map((h) => h.status)).toEqual([400]);
    const listed = await fetch(`${sys.base}/admin/events?state=failed&source=stripe`, {
      headers: adminHeaders(),
    });
    const dead = ((await listed.json()) as { events: Record<string, unknown>[] }).events;
    expect(dead.find((e) => e.eventId === 'evt_fwd_400')).toMatchObject({
      workflow: 'orders-api',
      requests: [{ status: 400, answer: 'unknown field' }],
      // The service's answer: fixed there, a replay delivers it (a bulk replay takes it too).
      replayable: true,
    });

    orders.answerWith(() => ({ status: 200, body: 'ok' }));
    const replay = await fetch(`${sys.base}/admin/replay?state=failed&source=stripe`, {
      method: 'POST',
      headers: adminHeaders(),
    });
    expect(replay.status).toBe(200);
    expect(
      ((await replay.json()) as { replayed: { eventId: string }[] }).replayed.map((r) => r.eventId),
    ).toContain('evt_fwd_400');
    expect((await until('stripe', 'evt_fwd_400', ['completed']))?.state).toBe('completed');
    const hits = hitsOf(orders, 'evt_fwd_400');
    expect(hits.map((h) => h.status)).toEqual([400, 200]);
    sameRequestIdentity(hits);
  });

  it('a destination failing does not hold up the workflows of the same event', async () => {
    payments.answerWith(() => ({ status: 500, body: 'down' }));
    expect((await sys.deliver('evt_fwd_fanout', 1200)).status).toBe(200);
    // The payment completes while its copy keeps failing.
    const byName = (s: { workflows: { name: string }[] }, name: string) =>
      // biome-ignore lint/suspicious/noExplicitAny: answers are inspected freely
      s.workflows.find((w) => w.name === name) as any;
    await waitFor(
      async () => {
        const s = await status('demo', 'evt_fwd_fanout');
        return (
          byName(s, 'payment')?.state === 'completed' && byName(s, 'payments-copy')?.requests?.length >= 2
        );
      },
      60_000,
      'the payment completed, its copy failing',
    );
    expect(byName(await status('demo', 'evt_fwd_fanout'), 'payments-copy').state).not.toBe('completed');
    payments.answerWith(() => ({ status: 200, body: 'ok' }));
    expect((await until('demo', 'evt_fwd_fanout', ['completed']))?.state).toBe('completed');
    expect(
      payments.delivered().filter((h) => h.headers['x-oncehook-event-id'] === 'evt_fwd_fanout'),
    ).toHaveLength(1);
    expect(sys.ledgerEntries().filter((e) => e.eventId === 'evt_fwd_fanout')).toHaveLength(1);
  });
});

describe("docs/forwarding.md's Node receiver, as written", () => {
  it('verifies with standardwebhooks, refuses a bad signature, and does its work once per webhook-id', async () => {
    const doc = readFileSync(join(ROOT, 'docs', 'forwarding.md'), 'utf8');
    const code = /```\w*\n([\s\S]*?)```/.exec(
      doc.slice(doc.indexOf('<!-- forwarding:receiver.mjs -->')),
    )?.[1];
    const dir = mkdtempSync(join(tmpdir(), 'receiver-'));
    writeFileSync(join(dir, 'receiver.mjs'), code ?? '');
    mkdirSync(join(dir, 'node_modules'));
    symlinkSync(
      realpathSync(join(ROOT, 'apps/worker/node_modules/standardwebhooks')),
      join(dir, 'node_modules/standardwebhooks'),
    );
    const env = { ...process.env, ORDERS_API_SIGNING_SECRET: DESTINATION_SECRET, PORT: String(receiverPort) };
    const receiver = spawn(process.execPath, ['receiver.mjs'], { cwd: dir, env });
    let out = '';
    receiver.stdout.on('data', (d) => {
      out += d;
    });
    try {
      const body = stripeEvent('evt_fwd_receiver', 'invoice.created');
      expect((await sendStripe(body)).status).toBe(200);
      expect((await until('stripe', 'evt_fwd_receiver', ['completed']))?.state).toBe('completed');
      expect(out).toBe(`event invoice.created ${Buffer.byteLength(body)} bytes\n`);
      // The same request again (an answer lost on the way back): answered 200, not done again.
      const id = webhookId('stripe', 'evt_fwd_receiver', 'receiver');
      const now = new Date();
      const signed = {
        'webhook-id': id,
        'webhook-timestamp': String(Math.floor(now.getTime() / 1000)),
        'webhook-signature': new Webhook(DESTINATION_SECRET).sign(id, now, body),
      };
      const url = `http://127.0.0.1:${receiverPort}/`;
      expect((await fetch(url, { method: 'POST', body, headers: signed })).status).toBe(200);
      const forged = {
        ...signed,
        'webhook-signature': new Webhook(`whsec_${btoa('another secret')}`).sign(id, now, body),
      };
      expect((await fetch(url, { method: 'POST', body, headers: forged })).status).toBe(401);
      expect(out.split('\n').filter(Boolean)).toHaveLength(1);
    } finally {
      receiver.kill();
    }
  });
});

describe('a DESTINATIONS_FILE that is not right', () => {
  it('stops the worker (78), naming the entry and its field', async () => {
    const env = destinationsEnv([{ name: 'orders-api', url: 'localhost:8080', types: ['invoice.*'] }]);
    const proc = spawnApp('worker', { ...env, REDIS_URL: 'redis://127.0.0.1:1' });
    expect((await proc.exited).code).toBe(78);
    expect(proc.output()).toMatch(/DESTINATIONS_FILE: .*: entry 1 \("orders-api"\): url: must be an http/);
  });

  it('oncehook-worker without one has nothing to run: it stops (78), saying so', async () => {
    const proc = spawnApp('forwarder', { REDIS_URL: 'redis://127.0.0.1:1' });
    expect((await proc.exited).code).toBe(78);
    expect(proc.output()).toContain('DESTINATIONS_FILE: required by a worker without workflows');
  });
});
