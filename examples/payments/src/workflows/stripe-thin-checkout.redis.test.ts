import { type FakeApis, startFakeApis } from '@oncehook/testing';
import { thinEventType } from '@oncehook/worker';
import { createRegistry, createTestEngine, type TestEngine } from '@oncehook/worker/testing';
import { UnrecoverableError } from 'bullmq';
import { afterEach, describe, expect, it } from 'vitest';
import { parseDemoEnv } from '../env.ts';
import { demoKeys } from '../keys.ts';
import { readDemoLedger } from '../ledger.ts';
import { createServices } from '../services/index.ts';
import { WORKFLOWS } from './registry.ts';

/**
 * Stripe thin events name the object they are about and do not carry it. A thin
 * `checkout.session.completed` reaches only the workflow that fetches the session first (never the
 * one written for the snapshot event), and no receipt leaves before the session was fetched.
 */
const SESSION = {
  id: 'cs_test_thin_0001',
  amount_total: 2500,
  currency: 'eur',
  customer_details: { email: 'grace@example.com' },
  payment_status: 'paid',
  status: 'complete',
};
const THIN_TYPE = thinEventType('v1.checkout.session.completed');
const thinEvent = (id: string, type = 'v1.checkout.session.completed', sessionId = SESSION.id) => ({
  id,
  object: 'v2.core.event',
  type,
  livemode: false,
  created: '2025-06-15T12:00:00.000Z',
  related_object: { id: sessionId, type: 'checkout.session', url: `/v1/checkout/sessions/${sessionId}` },
});

let t: TestEngine;
const keys = () => demoKeys(t.config.QUEUE_PREFIX);
let fake: FakeApis | undefined;
async function setup(withPaymentsApi = true) {
  fake = await startFakeApis();
  fake.checkoutSessions.set(SESSION.id, SESSION);
  const env: Record<string, string> = {
    MAILER_URL: fake.url,
    ...(withPaymentsApi ? { PAYMENTS_URL: fake.url } : {}),
  };
  t = await createTestEngine(WORKFLOWS, (ctx) => createServices(parseDemoEnv(env), ctx), env);
}
const accept = (id: string, type = THIN_TYPE, body = thinEvent(id)) =>
  t.acceptEvent(id, body, { source: 'stripe', type });

afterEach(async () => {
  await t?.close();
  await fake?.close();
});

describe('a thin checkout.session.completed', () => {
  it('is handled by stripe-thin-checkout alone: never by the snapshot workflow', () => {
    const registry = createRegistry(WORKFLOWS);
    expect(registry.forEvent('stripe', THIN_TYPE).map((wf) => wf.name)).toEqual(['stripe-thin-checkout']);
    expect(registry.forEvent('stripe', 'checkout.session.completed').map((wf) => wf.name)).toEqual([
      'stripe-checkout',
    ]);
    for (const wf of WORKFLOWS) {
      if (wf.name !== 'stripe-thin-checkout')
        expect(wf.on.every((on) => !on.type.startsWith('thin:'))).toBe(true);
    }
  });

  it('sends no receipt until its session was fetched through the SDK, then exactly one', async () => {
    await setup();
    fake?.setDown(true, 'payments');
    const event = await accept('evt_thin_1');
    await expect(t.run(event.job)).rejects.toThrow();
    expect((await t.status('evt_thin_1', 'stripe'))?.state).toBe('retrying');
    expect(fake?.emails.size).toBe(0);
    expect((await readDemoLedger(t.redis, keys())).entries).toBe(0);

    fake?.setDown(false, 'payments');
    await t.run(event.job, { attemptsMade: 1 });
    const status = await t.status('evt_thin_1', 'stripe');
    expect(status?.state).toBe('completed');
    expect(status?.workflows?.map((wf) => wf.name)).toEqual(['stripe-thin-checkout']);
    const [email] = [...(fake?.emails.values() ?? [])];
    expect(fake?.emails.size).toBe(1);
    expect(email?.body).toMatchObject({ to: 'grace@example.com', subject: 'Your receipt: €25.00' });
    expect((await readDemoLedger(t.redis, keys())).totals).toEqual({ EUR: 2500 });
    // The session was read (by the SDK, at related_object.url) before the receipt went out.
    const calls = fake?.calls ?? [];
    const fetched = calls.lastIndexOf(`GET /v1/checkout/sessions/${SESSION.id}`);
    expect(fetched).toBeGreaterThanOrEqual(0);
    expect(fetched).toBeLessThan(calls.indexOf('POST /emails'));

    // Run again (a re-delivered job): nothing is sent twice.
    await t.run(event.job, { attemptsMade: 2 });
    expect(fake?.emails.size).toBe(1);
    expect((await readDemoLedger(t.redis, keys())).entries).toBe(1);
  });

  it('fails at once, sending nothing, when its session does not exist', async () => {
    await setup();
    const event = await accept(
      'evt_thin_gone',
      THIN_TYPE,
      thinEvent('evt_thin_gone', undefined, 'cs_test_missing'),
    );
    await expect(t.run(event.job)).rejects.toBeInstanceOf(UnrecoverableError);
    expect((await t.status('evt_thin_gone', 'stripe'))?.state).toBe('failed');
    expect(fake?.emails.size).toBe(0);
  });

  it('fails at once, naming PAYMENTS_URL, when there is no Stripe API to fetch from', async () => {
    await setup(false);
    const event = await accept('evt_thin_nourl');
    await expect(t.run(event.job)).rejects.toThrow(/PAYMENTS_URL/);
    expect((await t.status('evt_thin_nourl', 'stripe'))?.state).toBe('failed');
    expect(fake?.emails.size).toBe(0);
  });

  it('is ignored when named like the snapshot event: the ingest records it thin:checkout.session.completed', async () => {
    await setup();
    const type = thinEventType('checkout.session.completed');
    const event = await accept(
      'evt_thin_named',
      type,
      thinEvent('evt_thin_named', 'checkout.session.completed'),
    );
    await t.run(event.job);
    expect((await t.status('evt_thin_named', 'stripe'))?.state).toBe('ignored');
    expect(fake?.emails.size).toBe(0);
    expect(fake?.calls).toEqual([]);
  });
});
