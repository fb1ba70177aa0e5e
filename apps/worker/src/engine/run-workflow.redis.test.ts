import { EVENT_FIELDS } from '@oncehook/shared';
import { UnrecoverableError } from 'bullmq';
import { afterEach, describe, expect, it } from 'vitest';
import { createTestEngine, type TestEngine } from '../testing/engine.ts';
import { defineWorkflow } from './define-workflow.ts';
import { PermanentError } from './workflow.ts';

/** Services of the test workflows: call counts, and faults to inject per step. */
function testServices() {
  return {
    calls: new Map<string, number>(),
    keysSeen: new Map<string, string[]>(),
    fail: new Map<string, () => Error>(),
    ledgerKey: 'unset',
    totalsKey: 'unset',
    /** Resolves the `book` step's gate: lets a test hold runs at the same point. */
    gate: null as Promise<void> | null,
  };
}
type Services = ReturnType<typeof testServices>;

function touch(s: Services, step: string, key: string) {
  s.calls.set(step, (s.calls.get(step) ?? 0) + 1);
  s.keysSeen.set(step, [...(s.keysSeen.get(step) ?? []), key]);
  const fault = s.fail.get(step);
  if (fault) throw fault();
}

const flow = defineWorkflow<Services>('flow', { source: 'demo', type: 'test' })
  .step('first', (event, ctx) => {
    touch(ctx.services, 'first', ctx.idempotencyKey);
    return { n: (event.body as { n: number }).n };
  })
  .step('second', (_event, ctx) => {
    touch(ctx.services, 'second', ctx.idempotencyKey);
    return { doubled: ctx.results.first.n * 2 };
  })
  .step('book', async (_event, ctx) => {
    touch(ctx.services, 'book', ctx.idempotencyKey);
    await ctx.services.gate;
    ctx.writes.rpush(ctx.services.ledgerKey, `entry ${ctx.results.second.doubled}`);
    ctx.writes.hincrby(ctx.services.totalsKey, 'USD', ctx.results.second.doubled);
    return { booked: ctx.results.second.doubled, startedAt: await ctx.firstAttemptAt() };
  });

let t: TestEngine;
let services: Services;

async function setup(env: Record<string, string> = {}) {
  services = testServices();
  t = await createTestEngine([flow], () => services, env);
  services.ledgerKey = `${t.config.QUEUE_PREFIX}:ledger:{l}`;
  services.totalsKey = `${t.config.QUEUE_PREFIX}:ledger:{l}:totals`;
  return t;
}

afterEach(async () => {
  await t?.close();
});

describe('the step engine', () => {
  it('runs the steps in order, hands each result on, and reports them in the status', async () => {
    await setup();
    const event = await t.acceptEvent('evt_1', { n: 21 });
    const outcome = await t.run(event.job);

    expect(outcome).toMatchObject({ outcome: 'completed', ran: ['first', 'second', 'book'], skipped: [] });
    const status = await t.status('evt_1');
    expect(status).toMatchObject({
      source: 'demo',
      eventId: 'evt_1',
      state: 'completed',
      deliveries: 1,
      attempts: 1,
      steps: [
        { name: 'first', done: true, result: { n: 21 } },
        { name: 'second', done: true, result: { doubled: 42 } },
        { name: 'book', done: true, result: { booked: 42 } },
      ],
    });
    expect(await t.redis.lrange(`${t.config.QUEUE_PREFIX}:ledger:{l}`, 0, -1)).toEqual(['entry 42']);
    expect(await t.redis.hget(`${t.config.QUEUE_PREFIX}:ledger:{l}:totals`, 'USD')).toBe('42');
  });

  it('skips marked steps on a retry and hands on their stored results', async () => {
    await setup();
    const event = await t.acceptEvent('evt_2', { n: 5 });
    const job = event.job;
    services.fail.set('second', () => new Error('mail API timed out'));
    await expect(t.run(job)).rejects.toThrow('mail API timed out');
    expect((await t.status('evt_2'))?.state).toBe('retrying');

    services.fail.clear();
    const outcome = await t.run(job, { attemptsMade: 1 });
    expect(outcome).toMatchObject({ ran: ['second', 'book'], skipped: ['first'] });
    expect(services.calls.get('first')).toBe(1);
    expect(services.calls.get('second')).toBe(2);
    // `second` computed from `first`'s result as stored in its marker.
    expect((await t.status('evt_2'))?.steps[1]).toEqual({
      name: 'second',
      done: true,
      result: { doubled: 10 },
    });
    expect((await t.status('evt_2'))?.attempts).toBe(2);
  });

  it('gives each step an idempotency key that is the same on every attempt', async () => {
    await setup();
    const longUnicodeId = `évènement-${'支払い🙂'.repeat(60)}`.slice(0, 256);
    const event = await t.acceptEvent(longUnicodeId, { n: 1 });
    const job = event.job;
    services.fail.set('book', () => new Error('transient'));
    await expect(t.run(job)).rejects.toThrow('transient');
    await expect(t.run(job, { attemptsMade: 1 })).rejects.toThrow('transient');
    services.fail.clear();
    await t.run(job, { attemptsMade: 2 });

    const seen = services.keysSeen.get('book') ?? [];
    expect(seen).toHaveLength(3);
    expect(new Set(seen).size).toBe(1);
    const keys = [...services.keysSeen.values()].map((k) => k[0] ?? '');
    expect(new Set(keys).size).toBe(3); // one per step
    for (const key of keys) {
      expect(key.length).toBeLessThanOrEqual(255);
      expect(key).toMatch(/^[\x21-\x7e]+$/);
    }
  });

  it('fails at once on a permanent error, and only after the last attempt on a transient one', async () => {
    await setup();
    const permanent = await t.acceptEvent('evt_perm', { n: 1 });
    services.fail.set('second', () => new PermanentError('amount must be positive'));
    const err = await t.run(permanent.job).catch((e) => e);
    expect(err).toBeInstanceOf(UnrecoverableError);
    expect(await t.status('evt_perm')).toMatchObject({ state: 'failed', attempts: 1 });
    expect((await t.status('evt_perm'))?.error).toContain('amount must be positive');

    services.fail.set('second', () => new UnrecoverableError('bad data'));
    const unrecoverable = await t.acceptEvent('evt_unrec', { n: 1 });
    await expect(t.run(unrecoverable.job)).rejects.toBeInstanceOf(UnrecoverableError);
    expect((await t.status('evt_unrec'))?.state).toBe('failed');

    services.fail.set('second', () => new Error('503 from the mail API'));
    const transient = await t.acceptEvent('evt_transient', { n: 1 });
    const job = transient.job;
    const first = await t.run(job, { attemptsMade: 0, maxAttempts: 3 }).catch((e) => e);
    expect(first).not.toBeInstanceOf(UnrecoverableError);
    expect(await t.status('evt_transient')).toMatchObject({ state: 'retrying', attempts: 1 });
    await expect(t.run(job, { attemptsMade: 2, maxAttempts: 3 })).rejects.toThrow('503');
    expect(await t.status('evt_transient')).toMatchObject({ state: 'failed', attempts: 3 });
  });

  it('writes a step’s own Redis writes once when two runs of one job race to commit', async () => {
    await setup();
    const event = await t.acceptEvent('evt_race', { n: 50 });
    const job = event.job;
    let open = () => {};
    services.gate = new Promise((resolve) => {
      open = resolve;
    });
    const runs = [t.run(job), t.run(job)];
    // Both runs reach `book` (each computed its writes) before either commits.
    while ((services.calls.get('book') ?? 0) < 2) await new Promise((r) => setTimeout(r, 5));
    open();
    const outcomes = await Promise.all(runs);

    expect(outcomes.map((o) => o.outcome)).toEqual(['completed', 'completed']);
    expect(await t.redis.lrange(`${t.config.QUEUE_PREFIX}:ledger:{l}`, 0, -1)).toEqual(['entry 100']);
    expect(await t.redis.hget(`${t.config.QUEUE_PREFIX}:ledger:{l}:totals`, 'USD')).toBe('100');
    expect((await t.status('evt_race'))?.state).toBe('completed');
  });

  it('does nothing for a job added again after its run completed', async () => {
    await setup();
    const event = await t.acceptEvent('evt_done', { n: 3 });
    await t.run(event.job);
    const again = await t.run(event.job, { attemptsStarted: 2 });
    expect(again.outcome).toBe('noop');
    expect(services.calls.get('first')).toBe(1);
    expect(await t.redis.llen(`${t.config.QUEUE_PREFIX}:ledger:{l}`)).toBe(1);
  });

  it('remembers when a step was first attempted, across attempts', async () => {
    await setup();
    const event = await t.acceptEvent('evt_started', { n: 1 });
    const job = event.job;
    await t.redis.hset(t.keys.event(event.tag), EVENT_FIELDS.started('flow', 'book'), '1000');
    await t.run(job);
    expect((await t.status('evt_started'))?.steps[2]?.result).toEqual({ booked: 2, startedAt: 1000 });
  });

  it('commits step writes on a Redis Cluster too, where the marker lives in another slot', async () => {
    await setup();
    // The commit path a cluster client takes (the marker written after the guarded writes), run on
    // the single test Redis: only `isCluster` differs.
    const clusterLike = new Proxy(t.redis, {
      get(target, prop) {
        if (prop === 'isCluster') return true;
        const value = Reflect.get(target, prop, target);
        return typeof value === 'function' ? value.bind(target) : value;
      },
    });
    t.engine.redis = clusterLike;
    const event = await t.acceptEvent('evt_cluster', { n: 7 });
    const job = event.job;
    // A first run dies after committing `book`'s writes, before the marker (simulated by deleting it).
    await t.run(job);
    await t.redis.hdel(t.keys.event(event.tag), EVENT_FIELDS.marker('flow', 'book'));
    await t.redis.hset(
      t.keys.event(event.tag),
      EVENT_FIELDS.runState('flow'),
      'processing',
      'state',
      'processing',
    );
    await t.run(job, { attemptsMade: 1 });

    expect(services.calls.get('book')).toBe(2);
    expect(await t.redis.lrange(`${t.config.QUEUE_PREFIX}:ledger:{l}`, 0, -1)).toEqual(['entry 14']);
    expect((await t.status('evt_cluster'))?.steps[2]).toMatchObject({ done: true, result: { booked: 14 } });
  });
});
