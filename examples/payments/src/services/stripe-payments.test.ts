import { type FakeApis, startFakeApis } from '@oncehook/testing';
import { PermanentError } from '@oncehook/worker';
import { afterEach, describe, expect, it } from 'vitest';
import { httpMailer } from './mailer.ts';
import { stripePayments } from './stripe-payments.ts';

let fake: FakeApis;
afterEach(async () => {
  await fake?.close();
});

const request = (amount: number) => ({
  amount,
  currency: 'USD',
  idempotencyKey: 'demo:evt_1:payment.charge',
  description: 'test',
  metadata: { event_id: 'evt_1' },
});

describe('the Stripe SDK client and the mailer against a Stripe-compatible API', () => {
  it('retries nothing itself: a 5xx surfaces as a transient error, and the same key then succeeds', async () => {
    fake = await startFakeApis({ failFirst: true });
    const payments = stripePayments(fake.url);
    const first = await payments.create(request(100)).catch((e) => e);
    expect(first).toBeInstanceOf(Error);
    expect(first).not.toBeInstanceOf(PermanentError);
    const payment = await payments.create(request(100));
    expect(payment).toMatchObject({ amount: 100, currency: 'usd', status: 'succeeded' });
    expect(fake.stats.injected).toBe(1);
    expect(fake.charges.get('demo:evt_1:payment.charge')?.hits).toBe(1);
  });

  it('treats a 4xx refusal (a key reused with other parameters) as permanent', async () => {
    fake = await startFakeApis();
    const payments = stripePayments(fake.url);
    await payments.create(request(100));
    await expect(payments.create(request(200))).rejects.toBeInstanceOf(PermanentError);
  });

  it('finds a payment by the idempotency key in its metadata, quotes and all', async () => {
    fake = await startFakeApis();
    const payments = stripePayments(fake.url);
    const made = await payments.create({ ...request(300), idempotencyKey: "demo:it's:payment.charge" });
    expect(await payments.findByIdempotencyKey("demo:it's:payment.charge")).toMatchObject({ id: made.id });
    expect(await payments.findByIdempotencyKey('demo:other:payment.charge')).toBeNull();
  });

  it('mails JSON with an Idempotency-Key; a 5xx is transient', async () => {
    fake = await startFakeApis({ failFirst: true });
    const mailer = httpMailer(`${fake.url}/`);
    const email = { to: 'a@example.com', subject: 's', text: 't' };
    await expect(mailer.send(email, 'k1')).rejects.not.toBeInstanceOf(PermanentError);
    expect(await mailer.send(email, 'k1')).toMatchObject({ id: 'em_1' });
    expect(fake.emails.get('k1')?.body).toEqual(email);
  });
});
