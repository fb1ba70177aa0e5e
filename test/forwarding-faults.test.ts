import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { SIGNERS } from '@oncehook/ingest/sign';
import {
  destinationsEnv,
  fetchStatus,
  postJson,
  ROOT,
  type System,
  sleep,
  startFakeDestination,
  startSystem,
  waitFor,
} from '@oncehook/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

/**
 * Forwarding when things break: the worker killed -9 while its request is at the destination, and
 * the destination gone for longer than the first steps of its retries.
 */
const STRIPE_SECRET = 'whsec_forwarding_faults';
let sys: System;
let dest: Awaited<ReturnType<typeof startFakeDestination>>;

beforeAll(async () => {
  dest = await startFakeDestination();
  sys = await startSystem({
    workers: 1,
    env: {
      STRIPE_WEBHOOK_SECRET: STRIPE_SECRET,
      // The destination's retries start at 100 ms here (1 s by default).
      BACKOFF_MS: '100',
      ...destinationsEnv([{ name: 'ledger-api', url: dest.url, sources: ['stripe'], types: ['invoice.*'] }]),
    },
  });
});
afterAll(async () => {
  await sys?.stop();
  await dest?.close();
});

const invoice = JSON.parse(
  readFileSync(join(ROOT, 'fixtures/stripe-checkout-session-completed.json'), 'utf8'),
);
async function send(id: string) {
  const body = JSON.stringify({ ...invoice, id, type: 'invoice.paid' });
  const headers = await SIGNERS.stripe({ body, secret: STRIPE_SECRET, id: '', nowMs: Date.now() });
  expect((await postJson(`${sys.base}/webhooks/stripe`, body, headers)).status).toBe(200);
}
// biome-ignore lint/suspicious/noExplicitAny: answers are inspected freely
const status = async (id: string): Promise<any> => (await fetchStatus(sys.base, 'stripe', id)).json();
const hitsOf = (id: string) => dest.hits.filter((h) => h.headers['x-oncehook-event-id'] === id);

describe('a worker killed -9 while the destination holds its request', () => {
  it('sends it again after recovery with the same webhook-id and Idempotency-Key; delivered once', async () => {
    dest.answerWith((hit) =>
      hit.headers['x-oncehook-event-id'] === 'in_kill' && hitsOf('in_kill').length === 1
        ? 'hang'
        : { status: 200, body: 'ok' },
    );
    await send('in_kill');
    // The destination saw the request; the worker never sees the answer.
    await waitFor(() => hitsOf('in_kill').length === 1, 30_000, 'the first request');
    sys.workers[0]?.kill();
    sys.spawnWorker();
    await waitFor(async () => (await status('in_kill')).state === 'completed', 90_000, 'in_kill completed');
    const hits = hitsOf('in_kill');
    expect(hits).toHaveLength(2);
    expect(hits.every((h) => h.verified)).toBe(true);
    expect(hits[1]?.webhookId).toBe(hits[0]?.webhookId);
    expect(hits[1]?.idempotencyKey).toBe(hits[0]?.idempotencyKey);
    expect(dest.delivered().filter((h) => h.headers['x-oncehook-event-id'] === 'in_kill')).toHaveLength(1);
  });
});

describe('a destination down for longer than the first steps of its retries', () => {
  it('receives every event when it comes back, each delivered once', async () => {
    dest.answerWith(() => ({ status: 200, body: 'ok' }));
    await dest.down();
    const ids = Array.from({ length: 10 }, (_, i) => `in_down_${i}`);
    for (const id of ids) await send(id);
    // Each has failed at least four times (100 ms, then 200, 400, 800 …) before it comes back.
    await waitFor(
      async () => {
        const all = await Promise.all(ids.map(status));
        return all.every((s) => (s.workflows[0]?.requests?.length ?? 0) >= 4 && s.state === 'retrying');
      },
      60_000,
      'every event retried four times',
    );
    await sleep(500);
    await dest.up();
    await waitFor(
      async () => (await Promise.all(ids.map(status))).every((s) => s.state === 'completed'),
      90_000,
      'every event delivered',
    );
    for (const id of ids) {
      const [run] = (await status(id)).workflows;
      expect(run.requests.every((r: { status: number }) => r.status === 0)).toBe(true);
      expect(run.requests[0].error).toBe('ECONNREFUSED');
      expect(run.steps[0].result.status).toBe(200);
    }
    const delivered = dest.delivered().filter((h) => ids.includes(String(h.headers['x-oncehook-event-id'])));
    expect(delivered).toHaveLength(ids.length);
    expect(new Set(delivered.map((h) => h.webhookId)).size).toBe(ids.length);
    expect(delivered.every((h) => h.verified)).toBe(true);
  });
});
