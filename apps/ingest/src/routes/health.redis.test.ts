import { startTestRedis, waitFor } from '@oncehook/testing';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createTestApp, readJson, type TestApp } from '../testing/app.ts';

let t: TestApp;
beforeEach(async () => {
  t = await createTestApp();
});
afterEach(async () => {
  await t.close();
});

describe('health, readiness, metrics, ledger', () => {
  it('/healthz answers while the process is alive', async () => {
    const res = await t.app.request('/healthz');
    expect(res.status).toBe(200);
  });

  it('/readyz writes to Redis to prove it takes writes', async () => {
    const res = await t.app.request('/readyz');
    expect(res.status).toBe(200);
    expect(await t.redis.exists(t.keys.readyProbe)).toBe(1);
  });

  it('/readyz tells anyone ready or not, and only the admin credentials why', async () => {
    const open = await t.app.request('/readyz');
    expect(open.status).toBe(200);
    expect(await readJson(open)).toEqual({ ok: true });
    const detailed = await readJson(await t.get('/readyz'));
    expect(detailed).toMatchObject({ ok: true, redis: 'ok' });
    expect(detailed).toHaveProperty('checks');
    const wrong = await t.app.request('/readyz', { headers: { authorization: 'Bearer not-the-token' } });
    expect(wrong.status).toBe(401);

    t.redis.disconnect();
    const down = await t.app.request('/readyz');
    expect(down.status).toBe(503);
    // Not Redis's own error text (it names the host and port).
    expect(await readJson(down)).toEqual({ ok: false });
    while (t.redis.status !== 'end') await new Promise((r) => setTimeout(r, 10));
    await t.redis.connect();
  });

  it('/readyz answers 503 once Redis is gone', async () => {
    t.redis.disconnect();
    const res = await t.app.request('/readyz');
    expect(res.status).toBe(503);
    expect((await readJson(res)).ok).toBe(false);
    while (t.redis.status !== 'end') await new Promise((r) => setTimeout(r, 10));
    await t.redis.connect();
    expect((await t.app.request('/readyz')).status).toBe(200);
  });

  it('/readyz with ACK_REPLICAS reports the connected replicas, 503 when too few; deliveries 503 too', async () => {
    const primary = await startTestRedis();
    const replica = await startTestRedis({ args: ['--replicaof', '127.0.0.1', String(primary.port)] });
    const app = await createTestApp({
      REDIS_URL: primary.url,
      ACK_REPLICAS: '1',
      // Long enough for a loaded machine's replica to acknowledge the accepted delivery.
      ACK_REPLICA_TIMEOUT_MS: '1000',
    });
    try {
      // Connected is not enough: a replica in its first full sync cannot acknowledge a WAIT.
      await waitFor(
        () => primary.cli('INFO', 'replication').includes('state=online'),
        10_000,
        'replica online',
      );
      const ready = await app.get('/readyz');
      expect(ready.status).toBe(200);
      expect(await readJson(ready)).toMatchObject({ replicas: 1, ackReplicas: 1 });
      expect((await app.post('/webhook', { event_id: 'evt_wait_1' })).status).toBe(200);

      replica.kill();
      await waitFor(
        () => primary.cli('INFO', 'replication').includes('connected_slaves:0'),
        10_000,
        'replica gone',
      );
      const notReady = await app.get('/readyz');
      expect(notReady.status).toBe(503);
      expect(await readJson(notReady)).toMatchObject({ replicas: 0, ackReplicas: 1 });
      expect(await readJson(await app.app.request('/readyz'))).toEqual({ ok: false });
      const refused = await app.post('/webhook', { event_id: 'evt_wait_2' });
      expect(refused.status).toBe(503);
      expect((await readJson(refused)).error.code).toBe('unavailable');
    } finally {
      await app.close();
      replica.stop();
      primary.stop();
    }
  });

  it('/metrics counts deliveries by outcome in the Prometheus format', async () => {
    await t.post('/webhook', { event_id: 'evt_m' });
    await t.post('/webhook', { event_id: 'evt_m' });
    await t.post('/webhook', 'nope');
    const res = await t.app.request('/metrics');
    expect(res.headers.get('content-type')).toContain('text/plain');
    const text = await res.text();
    expect(text).toContain('oncehook_deliveries_total{source="demo",outcome="accepted"} 1');
    expect(text).toContain('oncehook_deliveries_total{source="demo",outcome="duplicate"} 1');
    expect(text).toContain('oncehook_deliveries_total{source="demo",outcome="refused"} 1');
    expect(text).toMatch(/oncehook_queue_jobs\{queue="events",partition="p0of1",state="waiting"\} 1/);
  });

  it('unknown routes answer 404 in the error shape', async () => {
    const res = await t.app.request('/nope');
    expect(res.status).toBe(404);
    expect((await readJson(res)).error.code).toBe('not_found');
  });
});
