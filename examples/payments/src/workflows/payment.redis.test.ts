import { EVENT_FIELDS, parseTag } from '@oncehook/shared';
import { type FakeApis, freePort, startFakeApis } from '@oncehook/testing';
import { createTestEngine, type TestEngine } from '@oncehook/worker/testing';
import { UnrecoverableError } from 'bullmq';
import { afterEach, describe, expect, it } from 'vitest';
import { parseDemoEnv } from '../env.ts';
import { demoKeys } from '../keys.ts';
import { ledgerShard, readDemoLedger, readDemoLedgerEntries } from '../ledger.ts';
import { createServices } from '../services/index.ts';
import { IDEMPOTENCY_METADATA } from '../services/payments.ts';
import { githubPush } from './github-push.ts';
import { payment } from './payment.ts';
import { stripeCheckout } from './stripe-checkout.ts';

const WORKFLOWS = [payment, stripeCheckout, githubPush];
const HOUR = 60 * 60 * 1000;

let t: TestEngine;
const keys = () => demoKeys(t.config.QUEUE_PREFIX);
let fake: FakeApis | undefined;

/** The real workflows and services; through the Stripe SDK and HTTP mailer when `fake` is given. */
async function setup(withFakeApis: boolean) {
  fake = withFakeApis ? await startFakeApis() : undefined;
  const env: Record<string, string> = fake ? { PAYMENTS_URL: fake.url, MAILER_URL: fake.url } : {};
  t = await createTestEngine(WORKFLOWS, (ctx) => createServices(parseDemoEnv(env), ctx), env);
}

/** As if the run crashed before `step`'s marker and comes back 25 hours after first attempting it. */
async function replayLate(tag: string, step: string, unmark: string[]) {
  const ev = t.keys.event(tag);
  await t.redis.hdel(ev, ...unmark.map((s) => EVENT_FIELDS.marker('payment', s)));
  await t.redis.hset(ev, {
    state: 'failed',
    [EVENT_FIELDS.runState('payment')]: 'failed',
    [EVENT_FIELDS.started('payment', step)]: String(Date.now() - 25 * HOUR),
  });
  const { source, eventId } = parseTag(tag);
  const shard = ledgerShard(source, eventId);
  await t.redis.del(keys().demoLedger(shard), keys().demoLedgerTotals(shard), keys().demoLedgerCount(shard));
}

const demo = (amount: number, currency = 'usd', extra: Record<string, unknown> = {}) => ({
  type: 'payment.succeeded',
  amount,
  currency,
  customer: 'cus_42',
  ...extra,
});

afterEach(async () => {
  await t?.close();
  await fake?.close();
});

describe('the demo payment workflow', () => {
  it('charges through the Stripe SDK, sends one receipt and books one ledger entry', async () => {
    await setup(true);
    const event = await t.acceptEvent('evt_pay_1', demo(4999, 'usd', { email: 'ada@example.com' }), {
      type: 'payment.succeeded',
    });
    await t.run(event.job);

    const status = await t.status('evt_pay_1');
    expect(status?.state).toBe('completed');
    const [charge] = [...(fake?.charges.entries() ?? [])];
    expect(charge?.[0]).toBe('demo:evt_pay_1:payment.charge');
    expect(charge?.[1]).toMatchObject({ amount: 4999, currency: 'usd', hits: 1 });
    expect(charge?.[1].metadata[IDEMPOTENCY_METADATA]).toBe('demo:evt_pay_1:payment.charge');
    expect(status?.steps[1]?.result).toEqual({ paymentId: charge?.[1].id });
    const [email] = [...(fake?.emails.values() ?? [])];
    expect(email?.body).toMatchObject({ to: 'ada@example.com', subject: 'Your receipt: $49.99' });
    expect((await readDemoLedger(t.redis, keys())).totals).toEqual({ USD: 4999 });
    // The entry holds what a ledger needs, never the event's payload.
    const [entry] = await readDemoLedgerEntries(t.redis, keys());
    expect(Object.keys(JSON.parse(entry ?? '{}')).sort()).toEqual([
      'amount',
      'at',
      'currency',
      'eventId',
      'reference',
      'source',
    ]);
    expect(fake?.stats.noKey).toBe(0);
  });

  it('fails at once on an invalid amount, currency or oversized field, before charging', async () => {
    await setup(true);
    for (const [id, body] of [
      ['evt_neg', demo(-5)],
      ['evt_frac', demo(10.5)],
      ['evt_cur', demo(100, 'dollars')],
      ['evt_zzz', demo(100, 'ZZZ')],
      ['evt_big_mail', demo(100, 'usd', { email: `${'a'.repeat(1_000_000)}@example.com` })],
      [
        'evt_long_mail',
        demo(100, 'usd', {
          email: `${'a'.repeat(64)}@${'b'.repeat(63)}.${'c'.repeat(63)}.${'d'.repeat(63)}.com`,
        }),
      ],
      ['evt_big_customer', demo(100, 'usd', { customer: 'c'.repeat(256) })],
    ] as const) {
      const event = await t.acceptEvent(id, body, { type: 'payment.succeeded' });
      await expect(t.run(event.job)).rejects.toBeInstanceOf(UnrecoverableError);
      expect((await t.status(id))?.state).toBe('failed');
    }
    expect(fake?.stats.requests).toBe(0);
  });

  it('with the built-in simulators, two racing runs make one payment, one email, one entry', async () => {
    await setup(false);
    const event = await t.acceptEvent('evt_sim', demo(1250, 'eur'), { type: 'payment.succeeded' });
    const job = event.job;
    await Promise.all([t.run(job), t.run(job), t.run(job)]);

    const status = await t.status('evt_sim');
    expect(status?.state).toBe('completed');
    expect(await t.redis.keys(keys().simulatedPayment('*'))).toHaveLength(1);
    expect(await t.redis.keys(keys().simulatedEmail('*'))).toHaveLength(1);
    expect((await readDemoLedger(t.redis, keys())).entries).toBe(1);
    expect((await readDemoLedger(t.redis, keys())).totals).toEqual({ EUR: 1250 });
  });

  it('more than 24 h after the first attempt, finds the payment by metadata instead of charging again', async () => {
    await setup(true);
    const event = await t.acceptEvent('evt_late', demo(700), { type: 'payment.succeeded' });
    const job = event.job;
    await t.run(job);
    const key = 'demo:evt_late:payment.charge';
    const first = fake?.charges.get(key);
    // Stripe has pruned the key; the run is replayed a day later from before its charge marker.
    fake?.charges.delete(key);
    if (first) fake?.charges.set('pruned', first);
    await replayLate(event.tag, 'charge', ['charge', 'receipt', 'ledger']);
    await t.run(job, { attemptsMade: 1, attemptsStarted: 2 });

    expect(fake?.charges.size).toBe(1);
    expect((await t.status('evt_late'))?.steps[1]?.result).toMatchObject({ paymentId: first?.id });
  });

  it('more than 24 h after the receipt was first attempted, finds the email instead of sending again', async () => {
    await setup(true);
    const event = await t.acceptEvent('evt_late_mail', demo(700, 'usd', { email: 'ada@example.com' }), {
      type: 'payment.succeeded',
    });
    await t.run(event.job);
    const key = 'demo:evt_late_mail:payment.receipt';
    const sent = fake?.emails.get(key);
    // The mail API has forgotten the key; the run crashed after sending, before the marker, and is
    // replayed a day later.
    fake?.emails.delete(key);
    if (sent) fake?.emails.set('forgotten', sent);
    await replayLate(event.tag, 'receipt', ['receipt', 'ledger']);
    await t.run(event.job, { attemptsMade: 1, attemptsStarted: 2 });

    expect(fake?.emails.size).toBe(1);
    expect(sent?.hits).toBe(1);
    expect((await t.status('evt_late_mail'))?.steps[2]?.result).toEqual({ emailId: sent?.id });
  });
});

describe('the other sources’ workflows', () => {
  it('Stripe checkout.session.completed: receipt to the customer, ledger entry of the total', async () => {
    await setup(true);
    const body = {
      id: 'evt_1Q',
      type: 'checkout.session.completed',
      data: {
        object: {
          id: 'cs_test_1',
          amount_total: 2500,
          currency: 'gbp',
          customer_details: { email: 'grace@example.com' },
        },
      },
    };
    const event = await t.acceptEvent('evt_1Q', body, {
      source: 'stripe',
      type: 'checkout.session.completed',
    });
    await t.run(event.job);

    expect((await t.status('evt_1Q', 'stripe'))?.state).toBe('completed');
    expect([...(fake?.emails.keys() ?? [])]).toEqual(['stripe:evt_1Q:stripe-checkout.receipt']);
    expect([...(fake?.emails.values() ?? [])][0]?.body.to).toBe('grace@example.com');
    expect((await readDemoLedger(t.redis, keys())).totals).toEqual({ GBP: 2500 });
    expect(fake?.charges.size).toBe(0);
  });

  it('GitHub push: a summary, recorded once', async () => {
    await setup(false);
    const body = {
      ref: 'refs/heads/main',
      repository: { full_name: 'o/r' },
      commits: [{}, {}],
      pusher: { name: 'x' },
    };
    const event = await t.acceptEvent('d-1', body, { source: 'github', type: 'push' });
    await t.run(event.job);
    expect((await t.status('d-1', 'github'))?.steps).toEqual([
      {
        name: 'record',
        done: true,
        result: { repository: 'o/r', ref: 'refs/heads/main', commits: 2, pusher: 'x' },
      },
    ]);
  });
});

describe('an API that refuses connections', () => {
  it.each([
    ['mail', 'mail API unreachable at <url>/emails (MAILER_URL)'],
    ['payments', 'no connection to the payments API (PAYMENTS_URL)'],
  ] as const)('the %s API is recorded with its URL and why, never as "Stripe"', async (api, said) => {
    fake = await startFakeApis();
    const closed = `http://127.0.0.1:${await freePort()}`;
    const env: Record<string, string> =
      api === 'mail' ? { PAYMENTS_URL: fake.url, MAILER_URL: closed } : { PAYMENTS_URL: closed };
    t = await createTestEngine(WORKFLOWS, (ctx) => createServices(parseDemoEnv(env), ctx), env);
    const event = await t.acceptEvent('evt_refused', demo(700, 'usd', { email: 'ada@example.com' }), {
      type: 'payment.succeeded',
    });
    await expect(t.run(event.job)).rejects.toThrow();
    const error = (await t.status('evt_refused'))?.error ?? '';
    expect(error).toContain(said.replace('<url>', closed));
    expect(error).toContain(`ECONNREFUSED ${closed.slice('http://'.length)}`);
    expect(error).not.toContain('Stripe');
  });
});
