import { createTestApp, readJson, type TestApp } from '@oncehook/ingest/testing';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { demoKeys } from './keys.ts';
import { demoRoutes } from './routes.ts';

let t: TestApp;
beforeEach(async () => {
  t = await createTestApp({}, { routes: demoRoutes });
});
afterEach(async () => {
  await t.close();
});

describe("the example's routes beside the ingest's", () => {
  it('/demo/ledger reports entries and per-currency totals, summed over its shards', async () => {
    const keys = demoKeys(t.config.QUEUE_PREFIX);
    expect(await readJson(await t.app.request('/demo/ledger'))).toEqual({ entries: 0, totals: {} });
    await t.redis.set(keys.demoLedgerCount(0), '2');
    await t.redis.hset(keys.demoLedgerTotals(0), { USD: '5998', EUR: '100' });
    await t.redis.set(keys.demoLedgerCount(15), '1');
    await t.redis.hset(keys.demoLedgerTotals(15), { USD: '2' });
    expect(await readJson(await t.app.request('/demo/ledger'))).toEqual({
      entries: 3,
      totals: { USD: 6000, EUR: 100 },
    });
  });

  it('/demo/ledger and /demo/subscriptions take the admin credentials in production', async () => {
    const prod = await createTestApp({ NODE_ENV: 'production' }, { routes: demoRoutes });
    try {
      for (const path of ['/demo/ledger', '/demo/subscriptions/sub_1']) {
        const anonymous = await prod.app.request(path);
        expect(anonymous.status).toBe(401);
        expect((await readJson(anonymous)).error.code).toBe('unauthorized');
      }
      expect((await prod.get('/demo/ledger')).status).toBe(200);
      expect((await prod.get('/demo/subscriptions/sub_1')).status).toBe(404);
    } finally {
      await prod.close();
    }
    const noAdmin = await createTestApp({ NODE_ENV: 'prod', ADMIN_TOKEN: '' }, { routes: demoRoutes });
    try {
      expect((await readJson(await noAdmin.app.request('/demo/ledger'))).error.code).toBe('admin_disabled');
    } finally {
      await noAdmin.close();
    }
    // Open in development, for the quickstart's curl.
    expect((await t.app.request('/demo/ledger')).status).toBe(200);
  });
});
