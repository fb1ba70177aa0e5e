import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { claimReplay, EVENT_FIELDS, openQueues } from '@oncehook/shared';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { defineWorkflow } from '../engine/define-workflow.ts';
import { createTestEngine, type TestEngine } from '../testing/engine.ts';
import { createFailureAlert } from './failure-alert.ts';
import { createWorkerHttp } from './http.ts';
import { createWorkerMetrics } from './metrics.ts';
import { createRunObserver } from './observer.ts';

type Services = { down: boolean; effects: Map<string, number> };
const did = (s: Services, what: string) => s.effects.set(what, (s.effects.get(what) ?? 0) + 1);
const flaky = defineWorkflow<Services>('flaky', { source: 'demo', type: 'flaky.test' })
  .step('book', (e, ctx) => {
    did(ctx.services, `${e.eventId}/book`);
    return { booked: true };
  })
  .step('call', (e, ctx) => {
    if (ctx.services.down) throw new Error('the API is down');
    did(ctx.services, `${e.eventId}/call`);
    return { called: true };
  });

/** An ALERT_WEBHOOK_URL that records what it is sent; its first `failures` answers are 500. */
async function alertReceiver(failures = 0) {
  const bodies: { text: string }[] = [];
  let requests = 0;
  const server = createServer((req, res) => {
    let raw = '';
    req.on('data', (d) => {
      raw += d;
    });
    req.on('end', () => {
      requests++;
      if (requests <= failures) return res.writeHead(500).end();
      bodies.push(JSON.parse(raw));
      res.writeHead(200).end('ok');
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`,
    bodies,
    requests: () => requests,
    close: () => new Promise((r) => server.close(r)),
  };
}

let t: TestEngine;
let services: Services;
const closing: { close(): unknown }[] = [];
beforeEach(async () => {
  services = { down: true, effects: new Map() };
  t = await createTestEngine([flaky], () => services, { MAX_ATTEMPTS: '3' });
});
afterEach(async () => {
  for (const c of closing.splice(0)) await c.close();
  await t.close();
});

function observe(url: string) {
  const metrics = createWorkerMetrics(() => []);
  const alert = createFailureAlert({
    url,
    redis: t.redis,
    keys: t.keys,
    log: t.engine.log,
    retryDelaysMs: [0, 10, 10],
  });
  t.engine.observer = createRunObserver({ metrics, alert, log: t.engine.log });
  return metrics;
}

const sample = async (
  metrics: ReturnType<typeof createWorkerMetrics>,
  name: string,
  labels: Record<string, string>,
) => {
  const metric = (await metrics.registry.getMetricsAsJSON()).find((m) => m.name === name);
  const found = metric?.values.find((v) =>
    Object.entries(labels).every(([k, want]) => (v.labels as Record<string, unknown>)[k] === want),
  );
  return found?.value ?? 0;
};

describe('the failure alert', () => {
  it('is posted once per failure for good: not per attempt, not again when the last attempt is re-run', async () => {
    const receiver = await alertReceiver();
    closing.push(receiver);
    const metrics = observe(receiver.url);
    const event = await t.acceptEvent('evt_alert', {}, { type: 'flaky.test' });
    for (const attemptsMade of [0, 1])
      await expect(t.run(event.job, { attemptsMade })).rejects.toThrow(/down/);
    expect(receiver.bodies).toHaveLength(0);
    await expect(t.run(event.job, { attemptsMade: 2 })).rejects.toThrow(/down/);
    expect(receiver.bodies).toHaveLength(1);
    expect(receiver.bodies[0]?.text).toMatch(/workflow "flaky" failed for good for demo event evt_alert/);
    expect(receiver.bodies[0]?.text).toMatch(/POST \/admin\/replay\/demo\/evt_alert/);

    // The worker died before BullMQ recorded the failure: the job's last attempt runs again.
    await expect(t.run(event.job, { attemptsMade: 2, attemptsStarted: 4 })).rejects.toThrow(/down/);
    expect(receiver.bodies).toHaveLength(1);

    // A replay that fails again is a new failure: its own alert.
    const claim = await claimReplay(t.redis, t.keys, event.tag, {
      gen: event.receivedAt,
      reruns: 0,
      runs: ['flaky'],
      keepUntil: Date.now() + 60_000,
    });
    expect(claim).toEqual({ kind: 'claimed', reruns: 1 });
    for (const attemptsMade of [0, 1, 2])
      await expect(t.run(event.job, { attemptsMade, attemptsStarted: attemptsMade + 4 })).rejects.toThrow();
    expect(receiver.bodies).toHaveLength(2);

    // Fixed, replayed: completes, and the step done before keeps its single effect.
    services.down = false;
    await claimReplay(t.redis, t.keys, event.tag, {
      gen: event.receivedAt,
      reruns: 1,
      runs: ['flaky'],
      keepUntil: Date.now() + 60_000,
    });
    expect(await t.run(event.job, { attemptsStarted: 8 })).toMatchObject({
      outcome: 'completed',
      skipped: ['book'],
    });
    expect(services.effects.get('evt_alert/book')).toBe(1);
    expect(services.effects.get('evt_alert/call')).toBe(1);
    expect(receiver.bodies).toHaveLength(2);

    expect(
      await sample(metrics, 'oncehook_workflow_runs_total', { workflow: 'flaky', outcome: 'retried' }),
    ).toBe(4);
    expect(
      await sample(metrics, 'oncehook_workflow_runs_total', { workflow: 'flaky', outcome: 'failed' }),
    ).toBe(3);
    expect(
      await sample(metrics, 'oncehook_workflow_runs_total', { workflow: 'flaky', outcome: 'completed' }),
    ).toBe(1);
    expect(await sample(metrics, 'oncehook_alerts_total', { outcome: 'sent' })).toBe(2);
    expect(
      await sample(metrics, 'oncehook_step_duration_seconds', {
        workflow: 'flaky',
        step: 'call',
        le: '+Inf',
      } as never),
    ).toBe(1);
  });

  it('retries its own POST, and is marked only once one was accepted', async () => {
    const receiver = await alertReceiver(2);
    closing.push(receiver);
    const metrics = observe(receiver.url);
    const event = await t.acceptEvent('evt_alert_retry', {}, { type: 'flaky.test' });
    await expect(t.run(event.job, { attemptsMade: 2 })).rejects.toThrow(/down/);
    expect(receiver.requests()).toBe(3);
    expect(receiver.bodies).toHaveLength(1);
    expect(await t.redis.hget(t.keys.event(event.tag), EVENT_FIELDS.alerted('flaky'))).toBe('0.3');
    expect(await sample(metrics, 'oncehook_alerts_total', { outcome: 'sent' })).toBe(1);
  });

  it('is not marked when it could not be sent, so a re-run of the job sends it', async () => {
    const receiver = await alertReceiver(100);
    closing.push(receiver);
    const metrics = observe(receiver.url);
    const event = await t.acceptEvent('evt_alert_down', {}, { type: 'flaky.test' });
    await expect(t.run(event.job, { attemptsMade: 2 })).rejects.toThrow(/down/);
    expect(receiver.requests()).toBe(3);
    expect(await t.redis.hget(t.keys.event(event.tag), EVENT_FIELDS.alerted('flaky'))).toBeNull();
    expect(await sample(metrics, 'oncehook_alerts_total', { outcome: 'failed' })).toBe(1);
  });
});

describe('the worker HTTP server', () => {
  it('serves /healthz, /readyz with the Redis checks, and /metrics', async () => {
    const metrics = createWorkerMetrics(() => []);
    let running = false;
    const server: Server = createWorkerHttp({
      redis: t.redis,
      keys: t.keys,
      metrics,
      running: () => running,
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    closing.push({ close: () => new Promise((r) => server.close(r)) });
    const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

    expect((await fetch(`${base}/healthz`)).status).toBe(200);
    expect((await fetch(`${base}/readyz`)).status).toBe(503);
    metrics.redisChecked([
      { check: 'eviction_policy', server: 'r:6379', ok: true, value: 'noeviction' },
      { check: 'persistence', server: 'r:6379', ok: false, value: 'none' },
    ]);
    running = true;
    const ready = await fetch(`${base}/readyz`);
    expect(ready.status).toBe(200);
    expect(await ready.json()).toMatchObject({
      ok: true,
      checks: { 'eviction_policy@r:6379': { ok: true }, 'persistence@r:6379': { ok: false, value: 'none' } },
    });
    metrics.runEnded('payment', 'replayed');
    const text = await (await fetch(`${base}/metrics`)).text();
    expect(text).toContain('oncehook_redis_check{check="persistence",server="r:6379"} 0');
    expect(text).toContain('oncehook_workflow_runs_total{workflow="payment",outcome="replayed"} 1');
    for (const name of [
      'oncehook_step_duration_seconds',
      'oncehook_stalled_jobs_total',
      'oncehook_worker_active_jobs',
      'oncehook_queue_jobs',
      'oncehook_queue_oldest_waiting_seconds',
    ])
      expect(text).toContain(`# TYPE ${name}`);
    expect((await fetch(`${base}/nope`)).status).toBe(404);
  });

  it('reads queue depth and the age of the oldest waiting job from Redis at scrape time', async () => {
    const queues = openQueues(t.config, t.redis);
    closing.push(queues);
    const { events, partition } = queues.current()[0]!;
    await events.add('event', { n: 1 }, { timestamp: Date.now() - 60_000 });
    await events.add('event', { n: 2 });
    const metrics = createWorkerMetrics(() => queues.pairs());
    const at = { queue: 'events', partition: partition.label };
    expect(await sample(metrics, 'oncehook_queue_jobs', { ...at, state: 'waiting' })).toBe(2);
    expect(await sample(metrics, 'oncehook_queue_oldest_waiting_seconds', at)).toBeGreaterThanOrEqual(60);
    expect(
      await sample(metrics, 'oncehook_queue_oldest_waiting_seconds', { ...at, queue: 'workflows' }),
    ).toBe(0);
  });
});
