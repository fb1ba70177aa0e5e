import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { eventJobSchema } from '@oncehook/shared';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createTestApp, readJson, type TestApp } from '../testing/app.ts';

const seed = { event_id: 'evt_001', type: 'payment.succeeded', amount: 4999, currency: 'USD' };

let t: TestApp;
beforeEach(async () => {
  t = await createTestApp();
});
afterEach(async () => {
  await t.close();
});

async function jobCount() {
  const counts = await t.queue.getJobCounts('waiting', 'active', 'delayed', 'completed', 'failed');
  return Object.values(counts).reduce((a, b) => a + b, 0);
}

describe('POST /webhook (demo source)', () => {
  it('accepts the seed body, enqueues one job with the derived id, and says it is new', async () => {
    const res = await t.post('/webhook', seed);
    expect(res.status).toBe(200);
    expect(await readJson(res)).toEqual({ received: true, duplicate: false });

    const job = await t.jobOf('demo', 'evt_001');
    expect(job).toBeDefined();
    const data = eventJobSchema.parse(job?.data);
    expect(data).toMatchObject({ source: 'demo', eventId: 'evt_001', type: 'payment.succeeded' });
    expect(JSON.parse(data.payload)).toEqual(seed);
    expect(job?.opts.attempts).toBe(8);
    expect(await jobCount()).toBe(1);
  });

  it('answers a re-delivery 200 duplicate:true and enqueues nothing new', async () => {
    await t.post('/webhook', seed);
    const again = await t.post('/webhook', seed);
    expect(again.status).toBe(200);
    expect(await readJson(again)).toEqual({ received: true, duplicate: true });
    expect(await jobCount()).toBe(1);
  });

  it('is a duplicate, and runs nothing, once a worker has had the event, even after its job is gone', async () => {
    await t.post('/webhook', seed);
    await t.startedByWorker('demo', 'evt_001');
    await t.queue.obliterate({ force: true });
    const again = await t.post('/webhook', seed);
    expect(await readJson(again)).toEqual({ received: true, duplicate: true });
    expect(await jobCount()).toBe(0);
  });

  it('before any worker has had it, a re-delivery enqueues again: a lost job is replaced, never two', async () => {
    await t.post('/webhook', seed);
    await t.queue.obliterate({ force: true });
    expect(await readJson(await t.post('/webhook', seed))).toEqual({ received: true, duplicate: true });
    expect(await jobCount()).toBe(1);
    await t.post('/webhook', seed);
    expect(await jobCount()).toBe(1);
  });

  it('turns concurrent duplicates into exactly one job and one "new" answer', async () => {
    const answers = await Promise.all(Array.from({ length: 20 }, () => t.post('/webhook', seed)));
    const bodies = await Promise.all(answers.map((r) => readJson(r)));
    expect(answers.every((r) => r.status === 200)).toBe(true);
    expect(bodies.filter((b) => !b.duplicate)).toHaveLength(1);
    expect(await jobCount()).toBe(1);
    const status = await readJson(await t.get('/status/evt_001'));
    expect(status.deliveries).toBe(20);
  });

  it('keeps the first body when a re-delivery differs, and counts a conflict', async () => {
    await t.post('/webhook', seed);
    const res = await t.post('/webhook', { ...seed, amount: 1 });
    expect(res.status).toBe(200);
    expect(await readJson(res)).toEqual({ received: true, duplicate: true });
    const job = await t.jobOf('demo', 'evt_001');
    expect(JSON.parse(eventJobSchema.parse(job?.data).payload).amount).toBe(4999);
    const status = await readJson(await t.get('/status/evt_001'));
    expect(status).toMatchObject({ deliveries: 2, conflicts: 1 });
  });

  it('serves the demo source under /webhooks/demo too, as the same event', async () => {
    await t.post('/webhooks/demo', seed);
    const res = await t.post('/webhook', seed);
    expect(await readJson(res)).toEqual({ received: true, duplicate: true });
  });

  it('answers 404 for an unknown source and stores nothing', async () => {
    const res = await t.post('/webhooks/nosuch', seed);
    expect(res.status).toBe(404);
    expect((await readJson(res)).error.code).toBe('unknown_source');
    expect(await t.traces()).toEqual({ records: [], jobs: 0 });
  });

  it('names the variable that would serve a known source without its secret, built-in or declared', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'oncehook-sources-'));
    const file = join(dir, 'sources.json');
    const acme = { signature: { header: 'X-Acme-Signature' }, eventId: { jsonPath: 'id' } };
    writeFileSync(file, JSON.stringify({ sources: { acme } }));
    const app = await createTestApp({ SOURCES_FILE: file });
    try {
      for (const [source, variable] of [
        ['acme', 'ACME_WEBHOOK_SECRET'],
        ['stripe', 'STRIPE_WEBHOOK_SECRET'],
      ] as const) {
        const res = await app.post(`/webhooks/${source}`, seed);
        expect(res.status).toBe(404);
        expect((await readJson(res)).error).toMatchObject({
          code: 'unknown_source',
          message: expect.stringContaining(variable),
        });
      }
    } finally {
      await app.close();
    }
  });
});

describe('odd event ids work end to end', () => {
  const ids = [
    'evt:with:colons',
    'a/b/c',
    'with spaces in it',
    '12345',
    '0',
    '-1',
    'ünïcødé 🧾 支付',
    '{braces}',
    '..',
    '%2F',
    'x'.repeat(256),
    '🧾'.repeat(256),
  ];

  it.each(ids)('%j is accepted once, enqueued under a valid job id, and visible in /status', async (id) => {
    const res = await t.post('/webhook', { ...seed, event_id: id });
    expect(res.status).toBe(200);
    expect(await readJson(res)).toEqual({ received: true, duplicate: false });
    const again = await t.post('/webhook', { ...seed, event_id: id });
    expect(await readJson(again)).toEqual({ received: true, duplicate: true });

    const job = await t.jobOf('demo', id);
    expect(job?.data.eventId).toBe(id);
    expect(await jobCount()).toBe(1);

    // URL parsers resolve '.' and '..' path segments away (even escaped): those ids use ?eventId=.
    const path = id === '..' ? `?eventId=${id}` : `/${encodeURIComponent(id)}`;
    const status = await t.get(`/status${path}`);
    expect(status.status).toBe(200);
    expect(await readJson(status)).toMatchObject({
      source: 'demo',
      eventId: id,
      state: 'queued',
      deliveries: 2,
    });
    const bySource = await t.get(`/status?source=demo&eventId=${encodeURIComponent(id)}`);
    expect((await readJson(bySource)).eventId).toBe(id);
  });

  it('keeps ids that differ only in case or by a prefix apart', async () => {
    for (const id of ['evt_A', 'evt_a', 'evt_a ', 'evt_']) {
      expect(await readJson(await t.post('/webhook', { ...seed, event_id: id }))).toMatchObject({
        duplicate: false,
      });
    }
    expect(await jobCount()).toBe(4);
  });
});

describe('bad input gets a clear 4xx and changes nothing', () => {
  const cases: [name: string, body: string, headers: Record<string, string>, status: number, code: string][] =
    [
      ['malformed JSON', '{"event_id": "evt_1",', {}, 400, 'invalid_json'],
      ['an empty body', '', {}, 400, 'empty_body'],
      ['a JSON array', '[{"event_id":"evt_1"}]', {}, 422, 'not_an_object'],
      ['a JSON string', '"evt_1"', {}, 422, 'not_an_object'],
      ['null', 'null', {}, 422, 'not_an_object'],
      ['a missing event_id', '{"type":"payment.succeeded"}', {}, 422, 'invalid_event_id'],
      ['a numeric event_id', '{"event_id":42}', {}, 422, 'invalid_event_id'],
      ['an empty event_id', '{"event_id":""}', {}, 422, 'invalid_event_id'],
      [
        'an event_id of 257 characters',
        JSON.stringify({ event_id: 'x'.repeat(257) }),
        {},
        422,
        'invalid_event_id',
      ],
      ['an event_id with a control character', '{"event_id":"evt\\u0000"}', {}, 422, 'invalid_event_id'],
      ['an event_id with a lone surrogate', '{"event_id":"evt\\ud800"}', {}, 422, 'invalid_event_id'],
      ['a non-string type', '{"event_id":"evt_1","type":7}', {}, 422, 'invalid_event_type'],
      [
        'a text/plain content type',
        JSON.stringify(seed),
        { 'content-type': 'text/plain' },
        415,
        'unsupported_media_type',
      ],
      [
        'a form content type',
        'event_id=evt_1',
        { 'content-type': 'application/x-www-form-urlencoded' },
        415,
        'unsupported_media_type',
      ],
    ];

  it.each(cases)('%s -> %j', async (_, body, headers, status, code) => {
    const res = await t.post('/webhook', body, headers);
    expect(res.status).toBe(status);
    const json = await readJson(res);
    expect(json.error.code).toBe(code);
    expect(typeof json.error.message).toBe('string');
    expect(json.error.message.length).toBeGreaterThan(0);
    expect(await t.traces()).toEqual({ records: [], jobs: 0 });
    // ...and the service keeps serving.
    expect((await t.post('/webhook', seed)).status).toBe(200);
  });

  it('refuses a body over MAX_BODY_BYTES with 413', async () => {
    const small = await createTestApp({ MAX_BODY_BYTES: '2048' });
    try {
      const res = await small.post('/webhook', { ...seed, padding: 'x'.repeat(4096) });
      expect(res.status).toBe(413);
      expect((await readJson(res)).error.code).toBe('payload_too_large');
      expect(await small.traces()).toEqual({ records: [], jobs: 0 });
      expect((await small.post('/webhook', seed)).status).toBe(200);
    } finally {
      await small.close();
    }
  });

  it('accepts application/json with a charset and +json types', async () => {
    expect(
      (await t.post('/webhook', seed, { 'content-type': 'application/json; charset=utf-8' })).status,
    ).toBe(200);
    const other = { ...seed, event_id: 'evt_002' };
    expect((await t.post('/webhook', other, { 'content-type': 'application/cloudevents+json' })).status).toBe(
      200,
    );
  });
});
