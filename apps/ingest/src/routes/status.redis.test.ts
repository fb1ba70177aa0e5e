import { EVENT_FIELDS, eventTag } from '@oncehook/shared';
import { UnrecoverableError, Worker } from 'bullmq';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createTestApp, readJson, type TestApp } from '../testing/app.ts';

let t: TestApp;
beforeEach(async () => {
  t = await createTestApp();
});
afterEach(async () => {
  await t.close();
});

describe('GET /status', () => {
  it('shows an accepted event as queued, with its deliveries', async () => {
    await t.post('/webhook', {
      event_id: 'evt_001',
      type: 'payment.succeeded',
      amount: 4999,
      currency: 'USD',
    });
    const res = await t.get('/status/evt_001');
    expect(res.status).toBe(200);
    expect(await readJson(res)).toMatchObject({
      source: 'demo',
      eventId: 'evt_001',
      type: 'payment.succeeded',
      state: 'queued',
      deliveries: 1,
      conflicts: 0,
      attempts: 0,
      steps: [],
    });
  });

  it('answers 404 with the error shape for an id never accepted', async () => {
    const res = await t.get('/status/evt_never');
    expect(res.status).toBe(404);
    expect((await readJson(res)).error).toMatchObject({ code: 'not_found' });
    expect((await t.get('/status/demo/evt_never')).status).toBe(404);
    expect((await t.get('/status/NotASource!/evt_never')).status).toBe(404);
  });

  it('answers 404 for a delivery that was refused', async () => {
    await t.post('/webhook', { event_id: 'evt_bad', type: 5 });
    expect((await t.get('/status/evt_bad')).status).toBe(404);
  });

  it('answers 404 for a pending record that no delivery was ever ACKed for', async () => {
    // What an ingest that died between the dedupe write and the enqueue leaves behind.
    await t.redis.hset(t.keys.event(eventTag('demo', 'evt_p')), {
      source: 'demo',
      eventId: 'evt_p',
      type: 'x',
    });
    expect((await t.get('/status/evt_p')).status).toBe(404);
  });

  it('takes the job’s word where the record disagrees: a run left at "retrying" whose job failed is failed', async () => {
    await t.post('/webhook', {
      event_id: 'evt_stale',
      type: 'payment.succeeded',
      amount: 1,
      currency: 'USD',
    });
    // A worker recorded `retrying`; its job then failed for good before it could record that.
    await t.redis.hset(t.keys.event(eventTag('demo', 'evt_stale')), {
      state: 'retrying',
      workflows: 'payment',
      [EVENT_FIELDS.runState('payment')]: 'retrying',
    });
    const failing = new Worker(
      t.queue.name,
      async () => {
        throw new UnrecoverableError('gave up');
      },
      { connection: t.redis, prefix: t.queue.opts.prefix },
    );
    try {
      const job = await t.jobOf('demo', 'evt_stale');
      for (let i = 0; i < 100 && (await job?.getState()) !== 'failed'; i++)
        await new Promise((r) => setTimeout(r, 20));
      expect(await job?.getState()).toBe('failed');
    } finally {
      await failing.close();
    }
    expect((await readJson(await t.get('/status/evt_stale'))).state).toBe('failed');
  });

  it('shows a run as failed when the record says it is running but its job is gone', async () => {
    await t.post('/webhook', { event_id: 'evt_gone', type: 'payment.succeeded', amount: 1, currency: 'USD' });
    const tag = eventTag('demo', 'evt_gone');
    await t.redis.hset(t.keys.event(tag), {
      state: 'processing',
      workflows: 'payment',
      [EVENT_FIELDS.runState('payment')]: 'processing',
    });
    expect((await readJson(await t.get('/status/evt_gone'))).state).toBe('queued'); // its job waits
    await (await t.jobOf('demo', 'evt_gone'))?.remove();
    const status = await readJson(await t.get('/status/evt_gone'));
    expect(status.state).toBe('failed');
    expect(status.workflows[0].error).toMatch(/job is gone/);
  });

  it('keeps sources apart', async () => {
    await t.post('/webhook', { event_id: 'evt_001' });
    expect((await t.get('/status/stripe/evt_001')).status).toBe(404);
  });
});

describe('GET /status access', () => {
  const paths = ['/status/evt_001', '/status/demo/evt_001', '/status?source=demo&eventId=evt_001'];
  const basic = (password: string) => `Basic ${Buffer.from(`anyone:${password}`).toString('base64')}`;

  it('takes the admin credentials: 401 with WWW-Authenticate without them or with wrong ones', async () => {
    await t.post('/webhook', { event_id: 'evt_001' });
    for (const path of paths) {
      for (const authorization of [undefined, 'Bearer wrong-token', basic('wrong-token')]) {
        const res = await t.app.request(path, { headers: authorization ? { authorization } : {} });
        expect(res.status).toBe(401);
        expect(res.headers.get('www-authenticate')).toContain('Basic');
        expect((await readJson(res)).error.code).toBe('unauthorized');
      }
      const ok = await t.app.request(path, { headers: { authorization: basic('test-admin-token') } });
      expect(ok.status).toBe(200);
    }
  });

  it('is off without ADMIN_TOKEN, like /admin', async () => {
    const off = await createTestApp({ ADMIN_TOKEN: '' });
    try {
      await off.post('/webhook', { event_id: 'evt_001' });
      for (const path of paths) {
        const res = await off.app.request(path);
        expect(res.status).toBe(404);
        expect((await readJson(res)).error.code).toBe('admin_disabled');
      }
    } finally {
      await off.close();
    }
  });

  it('is open to anyone with STATUS_PUBLIC=true (the quickstart)', async () => {
    const open = await createTestApp({ ADMIN_TOKEN: '', STATUS_PUBLIC: 'true' });
    try {
      await open.post('/webhook', { event_id: 'evt_001' });
      for (const path of paths) expect((await open.app.request(path)).status).toBe(200);
    } finally {
      await open.close();
    }
  });
});
