import { eventJobId, eventTag } from '@oncehook/shared';
import {
  adminHeaders,
  type Inspector,
  inspect,
  postJson,
  randomPrefix,
  startIngest,
  startTestRedis,
  type TestRedis,
} from '@oncehook/testing';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';

/**
 * The rows of the failure table between "the dedupe record is written" and "the job exists":
 * the enqueue is refused, or the ingest dies in between. The record must never keep the
 * provider's retry from being enqueued, and a 503'd delivery must leave no count behind.
 *
 * The ingest logs in as its own ACL user, so that a test can take away the queue's keys (BullMQ's
 * prefix is `{QUEUE_PREFIX}`) while the event's own keys (`QUEUE_PREFIX:…`) stay writable.
 */

const USER = 'ingest';
const PASSWORD = 'ingest-password';

let redis: TestRedis;
let ingest: Awaited<ReturnType<typeof startIngest>>;
let view: Inspector;
let prefix = '';

const allowQueue = (allowed: boolean) =>
  redis.cli('ACL', 'SETUSER', USER, 'resetkeys', allowed ? '~*' : `~${prefix}:*`);

beforeAll(async () => {
  redis = await startTestRedis();
  redis.cli('ACL', 'SETUSER', USER, 'on', `>${PASSWORD}`, '~*', '&*', '+@all');
});

// A fresh ingest and QUEUE_PREFIX per test: job counts are the test's own.
beforeEach(async () => {
  prefix = randomPrefix('enq');
  ingest = await startIngest({
    REDIS_URL: `redis://${USER}:${PASSWORD}@127.0.0.1:${redis.port}`,
    QUEUE_PREFIX: prefix,
  });
  view = inspect(redis.url, prefix);
});

afterEach(async () => {
  allowQueue(true);
  ingest.kill();
  await ingest.exited;
  await view.close();
});

afterAll(() => {
  redis?.stop();
});

let seq = 0;
const newEvent = (tag: string) => ({
  event_id: `${tag}-${++seq}-${Date.now()}`,
  type: 'payment.succeeded',
  amount: 4999,
  currency: 'USD',
});
const deliver = (body: { event_id: string }) => postJson(`${ingest.base}/webhook`, body);
const status = async (id: string) => {
  const res = await fetch(`${ingest.base}/status/${encodeURIComponent(id)}`, { headers: adminHeaders() });
  // biome-ignore lint/suspicious/noExplicitAny: a status body is inspected freely
  return { code: res.status, body: (await res.json()) as any };
};

describe('the enqueue is refused after the dedupe record was written', () => {
  it('answers 503, enqueues nothing, counts nothing; the retry is accepted and enqueued once', async () => {
    const body = newEvent('refused');
    allowQueue(false);

    for (let attempt = 0; attempt < 2; attempt++) {
      const refused = await deliver(body);
      expect(refused.status, refused.text).toBe(503);
      expect(refused.json).toMatchObject({ error: { code: 'unavailable', message: expect.any(String) } });
    }
    // The record was written (so this really is "after the dedupe write") and says pending;
    // both refused deliveries took their counts back.
    const record = await view.record(body.event_id);
    expect(record.bodyHash).toMatch(/^[\w-]{16}$/);
    expect(record.state).toBeUndefined();
    expect(record.deliveries).toBe('0');
    expect(await view.jobCount()).toBe(0);
    expect((await status(body.event_id)).code).toBe(404);
    expect(ingest.output()).toMatch(/NOPERM/);

    allowQueue(true);
    expect((await deliver(body)).json).toEqual({ received: true, duplicate: false });
    expect(await view.jobCount()).toBe(1);
    expect(JSON.parse((await view.job(body.event_id))?.payload ?? 'null')).toEqual(body);

    expect((await deliver(body)).json).toEqual({ received: true, duplicate: true });
    expect(await view.jobCount()).toBe(1);
    const shown = await status(body.event_id);
    expect(shown.code).toBe(200);
    expect(shown.body).toMatchObject({ state: 'queued', deliveries: 2, conflicts: 0 });
  });

  it('a refused delivery’s body is not the event’s: the first ACKed body is, without a conflict', async () => {
    const refused = newEvent('refused-body');
    const accepted = { ...refused, amount: 7 };
    allowQueue(false);
    expect((await deliver(refused)).status).toBe(503);
    allowQueue(true);
    expect((await deliver(accepted)).json).toEqual({ received: true, duplicate: false });
    expect(JSON.parse((await view.job(refused.event_id))?.payload ?? 'null')).toEqual(accepted);
    expect((await status(refused.event_id)).body).toMatchObject({ deliveries: 1, conflicts: 0 });
  });

  it('keeps the first accepted body when a later delivery differs, and counts the conflict', async () => {
    const first = newEvent('conflict');
    const changed = { ...first, amount: 1 };

    allowQueue(false);
    expect((await deliver(first)).status).toBe(503);
    allowQueue(true);
    expect((await deliver(first)).json).toEqual({ received: true, duplicate: false });
    expect((await deliver(changed)).json).toEqual({ received: true, duplicate: true });
    expect((await deliver(first)).json).toEqual({ received: true, duplicate: true });

    expect(await view.jobCount()).toBe(1);
    expect(JSON.parse((await view.job(first.event_id))?.payload ?? 'null')).toEqual(first);
    expect((await status(first.event_id)).body).toMatchObject({ deliveries: 3, conflicts: 1 });
    expect(ingest.output()).toMatch(/first body is kept/);
  });
});

// The delivery that died reached Redis (its record counts it), so the retries read duplicate:true:
// `duplicate` says "a delivery of this event reached us before", not "one was answered 200".
describe('the ingest dies between the dedupe write and the enqueue', () => {
  it('the retry finds the record pending and enqueues it, once', async () => {
    const body = newEvent('died');
    await view.openRecordOnly(body.event_id, body);
    expect(await view.jobCount()).toBe(0);

    expect((await deliver(body)).json).toEqual({ received: true, duplicate: true });
    expect(await view.jobCount()).toBe(1);
    expect(JSON.parse((await view.job(body.event_id))?.payload ?? 'null')).toEqual(body);

    const again = await Promise.all([deliver(body), deliver(body), deliver(body)]);
    expect(again.map((a) => a.json?.duplicate)).toEqual([true, true, true]);
    expect(await view.jobCount()).toBe(1);
    expect((await status(body.event_id)).body).toMatchObject({ state: 'queued', deliveries: 5 });
  });

  it('many retries of a pending record at once: one job (the job id), every one counted', async () => {
    const body = newEvent('died-burst');
    await view.openRecordOnly(body.event_id, body);
    const answers = await Promise.all(Array.from({ length: 20 }, () => deliver(body)));
    expect(answers.every((a) => a.status === 200)).toBe(true);
    expect(await view.jobCount()).toBe(1);
    expect((await status(body.event_id)).body).toMatchObject({ deliveries: 21, conflicts: 0 });
  });

  it('after the enqueue, before the 200: the retry is accepted, still one job', async () => {
    const body = newEvent('died-late');
    await view.openRecordOnly(body.event_id, body);
    const tag = eventTag('demo', body.event_id);
    const gen = Number((await view.record(body.event_id)).receivedAt);
    const job = { source: 'demo', eventId: body.event_id, type: body.type, payload: JSON.stringify(body) };
    await view.events.add(
      'event',
      { ...job, receivedAt: gen, windowSeconds: 3600 },
      { jobId: eventJobId(tag, gen) },
    );
    expect((await status(body.event_id)).body).toMatchObject({ state: 'queued', deliveries: 1 });

    expect((await deliver(body)).json).toEqual({ received: true, duplicate: true });
    expect((await deliver(body)).json).toEqual({ received: true, duplicate: true });
    expect(await view.jobCount()).toBe(1);
    expect((await status(body.event_id)).body).toMatchObject({ state: 'queued', deliveries: 3 });
  });
});

describe('a Redis user without the @dangerous commands (INFO among them)', () => {
  it('still enqueues: the queue does not depend on a start-up INFO that may be refused', async () => {
    const hardened = 'hardened';
    redis.cli('ACL', 'SETUSER', hardened, 'on', `>${PASSWORD}`, '~*', '&*', '+@all', '-@dangerous');
    const prefix = randomPrefix('hard');
    const app = await startIngest({
      REDIS_URL: `redis://${hardened}:${PASSWORD}@127.0.0.1:${redis.port}`,
      QUEUE_PREFIX: prefix,
    });
    const own = inspect(redis.url, prefix);
    try {
      const body = newEvent('hardened');
      const res = await postJson(`${app.base}/webhook`, body);
      expect(res.status, `${res.text}\n${app.output()}`).toBe(200);
      expect(res.json).toEqual({ received: true, duplicate: false });
      expect((await own.job(body.event_id))?.eventId).toBe(body.event_id);
      expect((await postJson(`${app.base}/webhook`, body)).json?.duplicate).toBe(true);
      expect(await own.jobCount()).toBe(1);
    } finally {
      app.kill();
      await app.exited;
      await own.close();
    }
  });
});
