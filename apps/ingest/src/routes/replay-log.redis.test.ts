import { EVENT_FIELDS, eventTag } from '@oncehook/shared';
import { afterEach, beforeEach, expect, it } from 'vitest';
import { createTestApp, type TestApp } from '../testing/app.ts';
import { failedAtCharge } from '../testing/dead-letters.ts';
import { capturedLog } from '../testing/log.ts';

/** Every replay request leaves a line: who asked (the token's name) and what it was answered. */
let t: TestApp;
let captured: ReturnType<typeof capturedLog>;
beforeEach(async () => {
  captured = capturedLog();
  t = await createTestApp({ ADMIN_TOKENS: 'alice:alice-token-1,bob:bob-token-22' }, { log: captured.log });
});
afterEach(async () => {
  await t.close();
});

const as = (token: string, path: string) =>
  t.app.request(path, { method: 'POST', headers: { authorization: `Bearer ${token}` } });

it('logs each replay request with the operator and its outcome, refusals and no-ops included', async () => {
  await failedAtCharge(t, ['evt_dead']);
  await t.post('/webhook', { event_id: 'evt_queued', type: 'payment.succeeded', amount: 1, currency: 'USD' });
  await t.post('/webhook', { event_id: 'evt_done', type: 'payment.succeeded', amount: 1, currency: 'USD' });
  await t.redis.hset(t.keys.event(eventTag('demo', 'evt_done')), {
    state: 'completed',
    workflows: 'payment',
    [EVENT_FIELDS.runState('payment')]: 'completed',
  });

  expect((await as('alice-token-1', '/admin/replay/demo/evt_nobody')).status).toBe(404);
  expect((await as('bob-token-22', '/admin/replay/demo/evt_queued')).status).toBe(409);
  expect((await as('alice-token-1', '/admin/replay/demo/evt_done')).status).toBe(200);
  expect((await as('bob-token-22', '/admin/replay/demo/evt_dead')).status).toBe(200);
  expect((await as('alice-token-1', '/admin/replay?state=failed')).status).toBe(200);
  expect((await as('alice-token-1', '/admin/replay?state=completed')).status).toBe(400);

  const single = captured.matching(/^replay of one event/);
  expect(single.map((l) => [l.by, l.eventId, l.outcome, l.state])).toEqual([
    ['alice', 'evt_nobody', 'not_found', undefined],
    ['bob', 'evt_queued', 'not_failed', 'queued'],
    ['alice', 'evt_done', 'noop', 'completed'],
    ['bob', 'evt_dead', 'replayed', undefined],
  ]);
  expect(single.every((l) => l.via === 'api' && l.source === 'demo')).toBe(true);
  const bulk = captured.matching(/^bulk replay: /);
  expect(bulk.map((l) => [l.by, l.outcome, l.replayed])).toEqual([
    ['alice', 'done', 0],
    ['alice', 'invalid_query', undefined],
  ]);
  expect(bulk[1]?.query).toEqual({ state: 'completed' });

  const text = await t.app.request('/admin/replay/demo/evt_dead', {
    method: 'POST',
    headers: { authorization: 'Bearer bob-token-22', 'content-type': 'text/plain' },
    body: 'x',
  });
  expect(text.status).toBe(415);
  expect(captured.matching(/^replay request: unsupported_media_type/)).toMatchObject([
    { by: 'bob', path: '/admin/replay/demo/evt_dead' },
  ]);
});
