import { afterEach, describe, expect, it } from 'vitest';
import { createTestApp, readJson, type TestApp } from '../testing/app.ts';

const TOKEN = 'test-admin-token';
let t: TestApp;
afterEach(async () => {
  await t.close();
});

const basic = (password: string) => `Basic ${Buffer.from(`anyone:${password}`).toString('base64')}`;

describe('/admin', () => {
  it('is off without ADMIN_TOKEN', async () => {
    t = await createTestApp({ ADMIN_TOKEN: '' });
    const res = await t.app.request('/admin/queues');
    expect(res.status).toBe(404);
    expect((await readJson(res)).error.code).toBe('admin_disabled');
  });

  it('refuses a missing or wrong token and asks the browser for a password', async () => {
    t = await createTestApp({ ADMIN_TOKEN: TOKEN });
    for (const authorization of [undefined, basic('wrong-token'), 'Bearer wrong-token', `Bearer ${TOKEN}x`]) {
      const res = await t.app.request('/admin/queues', { headers: authorization ? { authorization } : {} });
      expect(res.status).toBe(401);
      expect(res.headers.get('www-authenticate')).toContain('Basic');
    }
  });

  it('serves the dashboard and its API with Basic or Bearer', async () => {
    t = await createTestApp({ ADMIN_TOKEN: TOKEN });
    await t.post('/webhook', { event_id: 'evt_admin' });
    const page = await t.app.request('/admin/queues', { headers: { authorization: basic(TOKEN) } });
    expect(page.status).toBe(200);
    expect(await page.text()).toContain('<html');
    const api = await t.app.request('/admin/queues/api/queues', {
      headers: { authorization: `Bearer ${TOKEN}` },
    });
    expect(api.status).toBe(200);
    const { queues } = await readJson(api);
    expect(queues[0].name).toBe('events');
    expect(queues[0].counts.waiting).toBe(1);
  });
});
