import { eventTag } from '@oncehook/shared';
import { TEST_ADMIN_TOKEN } from '@oncehook/testing';
import { afterEach, describe, expect, it } from 'vitest';
import { createTestApp, readJson, type TestApp } from '../testing/app.ts';
import { failedAtCharge } from '../testing/dead-letters.ts';
import { capturedLog } from '../testing/log.ts';

/**
 * A page on another site, opened by an operator whose browser has the admin password cached,
 * submits a `<form method="post" enctype="text/plain">`. What the browser sends is below: the
 * cached Basic credentials, `Origin` and `Sec-Fetch-Site: cross-site`, and a body made of one
 * field whose name and value join into JSON. Bull Board's add-job route parses any body as JSON,
 * so without a check this adds a payment no signature ever covered.
 */
const basic = `Basic ${Buffer.from(`operator:${TEST_ADMIN_TOKEN}`).toString('base64')}`;
const CROSS_SITE = {
  authorization: basic,
  origin: 'https://evil.example',
  'sec-fetch-site': 'cross-site',
  'sec-fetch-mode': 'navigate',
  'content-type': 'text/plain',
};
// <input name='{"name":"event","data":{…},"pad":"' value='"}'> is sent as name=value, CRLF.
const forged = {
  source: 'demo',
  eventId: 'evt_forged',
  type: 'payment.succeeded',
  payload: JSON.stringify({
    event_id: 'evt_forged',
    amount: 99900,
    currency: 'USD',
    email: 'x@evil.example',
  }),
  receivedAt: 1,
  windowSeconds: 86400,
};
const FORM_BODY = `${JSON.stringify({ name: 'event', data: forged, pad: '' }).slice(0, -2)}="}\r\n`;

let t: TestApp;
afterEach(async () => {
  await t.close();
});

const counts = async () => (await t.queues.current()[0]!.events.getJobCounts()) as Record<string, number>;
const total = async () => Object.values(await counts()).reduce((a, b) => a + b, 0);

describe('a cross-site form post with the cached admin credentials', () => {
  it('cannot add a job through the dashboard: 403 in the JSON error shape, nothing enqueued', async () => {
    t = await createTestApp({ ADMIN_DASHBOARD_WRITE: 'true' });
    expect(JSON.parse(FORM_BODY)).toMatchObject({ name: 'event', data: forged });
    const res = await t.app.request('/admin/queues/api/queues/events/add', {
      method: 'POST',
      headers: CROSS_SITE,
      body: FORM_BODY,
    });
    expect(res.status).toBe(403);
    expect(await readJson(res)).toMatchObject({
      error: { code: 'cross_site_request', message: expect.any(String) },
    });
    expect(await total()).toBe(0);

    // The same request from the dashboard's own page goes through (the writes are on here): the
    // check above, not a broken route, is what refused it.
    const own = await t.app.request('/admin/queues/api/queues/events/add', {
      method: 'POST',
      headers: { ...CROSS_SITE, origin: 'http://localhost', 'sec-fetch-site': 'same-origin' },
      body: FORM_BODY,
    });
    expect(own.status).toBe(200);
    expect(await total()).toBe(1);
  });

  it('cannot replay one event or the failed ones, and the replay API refuses a text body from anywhere', async () => {
    t = await createTestApp();
    await failedAtCharge(t, ['evt_dead']);
    for (const path of ['/admin/replay/demo/evt_dead', '/admin/replay?state=failed']) {
      const res = await t.app.request(path, { method: 'POST', headers: CROSS_SITE, body: '{"x":"="}\r\n' });
      expect(res.status).toBe(403);
      expect((await readJson(res)).error.code).toBe('cross_site_request');
      // A same-origin page (or a script) posting a form body: 415, still nothing run.
      const text = await t.app.request(path, {
        method: 'POST',
        headers: { authorization: basic, 'content-type': 'text/plain' },
        body: 'x=1',
      });
      expect(text.status).toBe(415);
      expect((await readJson(text)).error.code).toBe('unsupported_media_type');
    }
    expect(await t.queue.getFailedCount()).toBe(1);
    expect(await t.redis.hget(t.keys.event(eventTag('demo', 'evt_dead')), 'reruns')).toBeNull();

    // JSON, or no body, from a client that is not a browser: replayed.
    const json = await t.app.request('/admin/replay/demo/evt_dead', {
      method: 'POST',
      headers: { authorization: basic, 'content-type': 'application/json' },
      body: '{}',
    });
    expect(json.status).toBe(200);
  });

  it('takes same-origin pages, PUBLIC_URL’s origin and clients that are not browsers; refuses the rest', async () => {
    t = await createTestApp({ PUBLIC_URL: 'https://hooks.example.com/oncehook' });
    const post = (headers: Record<string, string>) =>
      t.app.request('http://10.0.0.5:3000/admin/replay/demo/evt_none', {
        method: 'POST',
        headers: { authorization: basic, ...headers },
      });
    for (const headers of [
      {} as Record<string, string>,
      { 'sec-fetch-site': 'same-origin', origin: 'http://10.0.0.5:3000' },
      { 'sec-fetch-site': 'none' },
      { origin: 'http://10.0.0.5:3000' },
      { origin: 'https://10.0.0.5:3000' },
      { origin: 'https://hooks.example.com' },
    ])
      expect((await post(headers)).status, JSON.stringify(headers)).toBe(404);
    for (const headers of [
      { 'sec-fetch-site': 'cross-site' } as Record<string, string>,
      { 'sec-fetch-site': 'same-site', origin: 'https://admin.example.com' },
      { origin: 'https://evil.example' },
      { origin: 'null' },
      { origin: 'http://10.0.0.5:3001' },
    ])
      expect((await post(headers)).status, JSON.stringify(headers)).toBe(403);
  });
});

describe('the dashboard', () => {
  it('is never framed: X-Frame-Options DENY and frame-ancestors none, on pages and refusals alike', async () => {
    t = await createTestApp();
    for (const headers of [{ authorization: basic }, {}] as Record<string, string>[]) {
      const res = await t.app.request('/admin/queues', { headers });
      expect(res.headers.get('x-frame-options')).toBe('DENY');
      expect(res.headers.get('content-security-policy')).toBe("frame-ancestors 'none'");
    }
  });

  it('only retries failed jobs unless ADMIN_DASHBOARD_WRITE is set, and logs every change with the operator’s name', async () => {
    const captured = capturedLog();
    t = await createTestApp({ ADMIN_TOKENS: 'alice:alice-token-1' }, { log: captured.log });
    await failedAtCharge(t, ['evt_f1', 'evt_f2']);
    await t.post('/webhook', {
      event_id: 'evt_waiting',
      type: 'payment.succeeded',
      amount: 1,
      currency: 'USD',
    });
    const alice = { authorization: 'Bearer alice-token-1', 'content-type': 'application/json' };
    const api = (method: string, path: string, body?: unknown) =>
      t.app.request(`/admin/queues/api/queues${path}`, {
        method,
        headers: alice,
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      });
    const failedJob = (await t.jobOf('demo', 'evt_f1'))?.id as string;
    const waitingJob = (await t.jobOf('demo', 'evt_waiting'))?.id as string;
    const before = await counts();

    for (const [method, path, body] of [
      ['POST', '/events/add', { name: 'event', data: forged }],
      ['PUT', '/events/retry/completed', undefined],
      ['PUT', '/events/clean/failed', undefined],
      ['PUT', '/events/obliterate', { force: true }],
      ['PUT', '/events/pause', undefined],
      ['PUT', '/events/promote', undefined],
      ['PUT', `/events/${encodeURIComponent(waitingJob)}/retry`, undefined],
      ['PUT', `/events/${encodeURIComponent(failedJob)}/clean`, undefined],
      ['PATCH', `/events/${encodeURIComponent(failedJob)}/update-data`, { data: forged }],
    ] as const) {
      const res = await api(method, path, body);
      expect(res.status, `${method} ${path}`).toBe(403);
      expect((await readJson(res)).error.code).toBe('dashboard_read_only');
    }
    expect(await counts()).toEqual(before);
    expect((await t.jobOf('demo', 'evt_f1'))?.data.eventId).toBe('evt_f1');

    expect((await api('PUT', `/events/${encodeURIComponent(failedJob)}/retry`)).status).toBe(204);
    expect((await api('PUT', '/events/retry/failed')).status).toBe(200);
    expect(await t.queue.getFailedCount()).toBe(0);

    const changes = captured.matching(/^dashboard: a change/);
    expect(changes.map((l) => [l.operator, l.method, l.route])).toEqual([
      ['alice', 'PUT', `/api/queues/events/${encodeURIComponent(failedJob)}/retry`],
      ['alice', 'PUT', '/api/queues/events/retry/failed'],
    ]);
    const refused = captured.matching(/^dashboard: a write was refused/);
    expect(refused).toHaveLength(9);
    expect(refused.every((l) => l.operator === 'alice')).toBe(true);
  });
});
