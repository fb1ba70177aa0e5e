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
    const res = await t.app.request('/status/evt_001');
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
    const res = await t.app.request('/status/evt_never');
    expect(res.status).toBe(404);
    expect((await readJson(res)).error).toMatchObject({ code: 'not_found' });
    expect((await t.app.request('/status/demo/evt_never')).status).toBe(404);
    expect((await t.app.request('/status/NotASource!/evt_never')).status).toBe(404);
  });

  it('answers 404 for a delivery that was refused', async () => {
    await t.post('/webhook', { event_id: 'evt_bad', type: 5 });
    expect((await t.app.request('/status/evt_bad')).status).toBe(404);
  });

  it('answers 404 for a pending record that no delivery was ever ACKed for', async () => {
    // What an ingest that died between the dedupe write and the enqueue leaves behind.
    const { eventTag } = await import('@oncehook/shared');
    await t.redis.hset(t.keys.event(eventTag('demo', 'evt_p')), {
      source: 'demo',
      eventId: 'evt_p',
      type: 'x',
    });
    expect((await t.app.request('/status/evt_p')).status).toBe(404);
  });

  it('keeps sources apart', async () => {
    await t.post('/webhook', { event_id: 'evt_001' });
    expect((await t.app.request('/status/stripe/evt_001')).status).toBe(404);
  });
});
