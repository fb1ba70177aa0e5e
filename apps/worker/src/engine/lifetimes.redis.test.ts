import { EVENT_FIELDS } from '@oncehook/shared';
import { UnrecoverableError } from 'bullmq';
import { afterEach, describe, expect, it } from 'vitest';
import { createTestEngine, type TestEngine } from '../testing/engine.ts';
import { defineWorkflow } from './define-workflow.ts';
import { LockLostError } from './errors.ts';

/** The edges of an event's life: expiry, generations, a lost record, a lost lock, bad writes. */
function testServices() {
  return { calls: [] as string[], fail: new Map<string, () => Error>(), listKey: '', totalsKey: '' };
}
type Services = ReturnType<typeof testServices>;

const flow = defineWorkflow<Services>('flow', { source: 'demo', type: 'test' })
  .step('charge', (_e, ctx) => {
    ctx.services.calls.push('charge');
    const fault = ctx.services.fail.get('charge');
    if (fault) throw fault();
    return { charged: true };
  })
  .step('book', (_e, ctx) => {
    ctx.services.calls.push('book');
    ctx.writes.rpush(ctx.services.listKey, 'entry');
    ctx.writes.hincrby(ctx.services.totalsKey, 'USD', 5);
    return { booked: 5 };
  })
  .step('mail', (_e, ctx) => {
    ctx.services.calls.push('mail');
    const fault = ctx.services.fail.get('mail');
    if (fault) throw fault();
    return { mailed: true };
  });

let t: TestEngine;
let services: Services;
const WINDOW_MS = 60_000;

async function setup(env: Record<string, string> = {}) {
  services = testServices();
  t = await createTestEngine([flow], () => services, { DEDUPE_TTL_SECONDS: '60', ...env });
  services.listKey = listKey();
  services.totalsKey = totalsKey();
}

afterEach(async () => {
  await t?.close();
});

const listKey = () => `${t.config.QUEUE_PREFIX}:ledger:{l}`;
const totalsKey = () => `${t.config.QUEUE_PREFIX}:ledger:{l}:totals`;
const expiry = (tag: string) => t.redis.pexpiretime(t.keys.event(tag));

describe('how long an event lives', () => {
  it('keeps an event in flight without an expiry, past its window, and its window runs from when it finished', async () => {
    await setup({ BACKOFF_MS: '600000' });
    const event = await t.acceptEvent('evt_long_retry', {});
    // The window, shortened: 300 ms left when the run starts.
    await t.redis.pexpire(t.keys.event(event.tag), 300);
    services.fail.set('mail', () => new Error('mail API down'));
    await expect(t.run(event.job, { attemptsMade: 2, maxAttempts: 8 })).rejects.toThrow('mail API down');
    // Retrying (the next attempt waits up to BACKOFF_MS * 2^2 = 40 min): no expiry at all.
    expect(await expiry(event.tag)).toBe(-1);
    await new Promise((r) => setTimeout(r, 600));
    services.fail.delete('mail');
    services.calls.length = 0;
    const before = Date.now();
    await t.run(event.job, { attemptsMade: 3, maxAttempts: 8 });
    // Its markers were there: only the step that failed ran.
    expect(services.calls).toEqual(['mail']);
    expect(await expiry(event.tag)).toBeGreaterThanOrEqual(before + WINDOW_MS);
  });

  it('keeps a failed event as long as its dead letter is kept (FAILED_RETENTION)', async () => {
    await setup({ FAILED_RETENTION: '86400' });
    const event = await t.acceptEvent('evt_dead', {});
    services.fail.set('mail', () => new UnrecoverableError('refused'));
    const before = Date.now();
    await expect(t.run(event.job)).rejects.toThrow('refused');
    expect(await expiry(event.tag)).toBeGreaterThanOrEqual(before + 86_400_000);
  });

  it('keeps a completed event its window from completion, and never moves an expiry earlier', async () => {
    await setup();
    const event = await t.acceptEvent('evt_done', {});
    const before = Date.now();
    await t.run(event.job);
    const completedExpiry = await expiry(event.tag);
    expect(completedExpiry).toBeGreaterThanOrEqual(before + WINDOW_MS);

    const far = Date.now() + 10 * WINDOW_MS;
    await t.redis.pexpireat(t.keys.event(event.tag), far);
    await t.run(event.job, { attemptsStarted: 2 });
    expect(await expiry(event.tag)).toBe(far);
  });
});

describe('generations', () => {
  it('never lets a job of an older generation touch a newer record of the same id', async () => {
    await setup();
    const old = await t.acceptEvent('evt_gen', {});
    // The old record expires; a new delivery of the same id opens a newer one.
    await t.redis.del(t.keys.event(old.tag));
    await new Promise((r) => setTimeout(r, 5));
    const fresh = await t.acceptEvent('evt_gen', {});
    expect(fresh.receivedAt).not.toBe(old.receivedAt);
    const recordBefore = await t.redis.hgetall(t.keys.event(fresh.tag));
    const expiryBefore = await expiry(fresh.tag);

    expect(await t.run(old.job, { attemptsStarted: 3, attemptsMade: 2 })).toEqual({ outcome: 'superseded' });
    expect(services.calls).toEqual([]);
    expect(await t.redis.hgetall(t.keys.event(fresh.tag))).toEqual(recordBefore);
    expect(await expiry(fresh.tag)).toBe(expiryBefore);

    await t.run(fresh.job);
    expect(services.calls).toEqual(['charge', 'book', 'mail']);
  });

  it('recreates a record that expired while its job waited, if the job never ran', async () => {
    await setup();
    const event = await t.acceptEvent('evt_waited', {});
    await t.redis.del(t.keys.event(event.tag));
    await t.run(event.job, { attemptsStarted: 1 });
    expect(services.calls).toEqual(['charge', 'book', 'mail']);
    expect(await t.status('evt_waited')).toMatchObject({ state: 'completed', deliveries: 1 });
  });

  it('a recreated record keeps the queue layout of its job, and the workflows of its event', async () => {
    await setup();
    const event = await t.acceptEvent('evt_waited_3', {}, { partitions: 3 });
    expect(await t.redis.hget(t.keys.event(event.tag), 'q')).toBe('3');
    await t.redis.del(t.keys.event(event.tag));
    await t.run(event.job, { attemptsStarted: 1, partitions: 3 });
    // /status and a replay look for the event's jobs in the layout its record names.
    expect(await t.redis.hget(t.keys.event(event.tag), 'q')).toBe('3');

    // A workflows job (one of several) recreating the record lists them all: the event is not
    // completed until each has run.
    const fanned = await t.acceptEvent('evt_waited_fan', {});
    await t.redis.del(t.keys.event(fanned.tag));
    expect(
      await t.run({ ...fanned.job, workflow: 'flow', workflows: ['flow', 'other'] }, { attemptsStarted: 1 }),
    ).toMatchObject({ outcome: 'completed' });
    expect(await t.redis.hget(t.keys.event(fanned.tag), 'workflows')).toBe('flow,other');
    expect((await t.status('evt_waited_fan'))?.state).toBe('processing');
  });

  it('runs a job stopped over and over before its start got through, whose record expired meanwhile', async () => {
    await setup();
    const event = await t.acceptEvent('evt_stalled_start', {});
    // Its worker was killed three times (or it waited for Redis): no attempt failed, none started.
    await t.redis.del(t.keys.event(event.tag));
    await t.run(event.job, { attemptsMade: 0, attemptsStarted: 4 });
    expect(services.calls).toEqual(['charge', 'book', 'mail']);
    expect(await t.status('evt_stalled_start')).toMatchObject({ state: 'completed' });
  });

  it('refuses to run a job that failed an attempt once its record is gone: its markers went with it', async () => {
    await setup();
    const event = await t.acceptEvent('evt_lost', {});
    services.fail.set('mail', () => new Error('mail API down'));
    await expect(t.run(event.job)).rejects.toThrow('mail API down');
    await t.redis.del(t.keys.event(event.tag));
    services.calls.length = 0;

    const err = await t.run(event.job, { attemptsMade: 1, attemptsStarted: 2 }).catch((e) => e);
    expect(err).toBeInstanceOf(UnrecoverableError);
    expect(err.message).toMatch(/markers are gone/);
    expect(services.calls).toEqual([]);
    expect(await t.redis.exists(t.keys.event(event.tag))).toBe(0);
  });
});

describe('a step’s own writes', () => {
  it('are checked before the first is applied: a bad key fails the step and applies none', async () => {
    await setup();
    // The totals key holds a string, so HINCRBY would fail after the RPUSH went through.
    await t.redis.set(totalsKey(), 'not a hash');
    const event = await t.acceptEvent('evt_badwrite', {});
    const err = await t.run(event.job).catch((e) => e);
    expect(err).toBeInstanceOf(UnrecoverableError);
    expect(err.message).toMatch(/writes cannot apply, none was made: HINCRBY .* holds a string/);
    expect(await t.redis.llen(listKey())).toBe(0);
    expect(await t.redis.hexists(t.keys.event(event.tag), EVENT_FIELDS.marker('flow', 'book'))).toBe(0);
    expect((await t.status('evt_badwrite'))?.state).toBe('failed');

    // Once the key is fixed, a replay applies the writes once, and does not charge again.
    await t.redis.del(totalsKey());
    await t.run(event.job, { attemptsMade: 1, attemptsStarted: 2 });
    await t.run(event.job, { attemptsMade: 1, attemptsStarted: 3 });
    expect(await t.redis.lrange(listKey(), 0, -1)).toEqual(['entry']);
    expect(await t.redis.hget(totalsKey(), 'USD')).toBe('5');
    expect(services.calls.filter((c) => c === 'charge')).toHaveLength(1);
  });

  it('refuse a field that is not an integer the same way', async () => {
    await setup();
    await t.redis.hset(totalsKey(), 'USD', 'five');
    const event = await t.acceptEvent('evt_badfield', {});
    await expect(t.run(event.job)).rejects.toThrow(/the field is not an integer/);
    expect(await t.redis.llen(listKey())).toBe(0);
  });
});

describe('a worker that lost its lock', () => {
  it('commits nothing and stops; the one that took the job over finishes it once', async () => {
    await setup();
    const event = await t.acceptEvent('evt_zombie', {});
    // BullMQ gave the job's lock to another worker.
    await t.redis.set(`${t.config.QUEUE_PREFIX}:lock:evt_zombie`, 'the-other-worker', 'EX', 60);
    const lock = { key: `${t.config.QUEUE_PREFIX}:lock:evt_zombie`, token: 'this-worker' };
    const err = await t.run(event.job, { lock }).catch((e) => e);
    expect(err).toBeInstanceOf(LockLostError);
    expect(services.calls).toEqual(['charge']);
    expect(await t.redis.hget(t.keys.event(event.tag), EVENT_FIELDS.marker('flow', 'charge'))).toBeNull();

    // The request repeats with the step's idempotency key (the API answers with the same charge).
    await t.run(event.job, { attemptsStarted: 2 });
    expect(services.calls).toEqual(['charge', 'charge', 'book', 'mail']);
    expect(await t.redis.llen(listKey())).toBe(1);
  });

  it("writes nothing in its last step either: a newer value is never overwritten by a zombie's", async () => {
    await setup();
    const event = await t.acceptEvent('evt_zombie_last', {});
    const lockKey = `${t.config.QUEUE_PREFIX}:lock:evt_zombie_last`;
    // This worker ran charge and book, then paused past its lock while in mail.
    await t.redis.set(lockKey, 'this-worker', 'EX', 60);
    services.fail.set('mail', () => new Error('mail API down'));
    await expect(t.run(event.job, { lock: { key: lockKey, token: 'this-worker' } })).rejects.toThrow(
      'mail API down',
    );
    services.fail.delete('mail');
    // Meanwhile another worker took the job over: the zombie's commit of the last step (which
    // writes, here: the ledger would be booked again by a `book` it never committed) is refused.
    await t.redis.set(lockKey, 'the-other-worker', 'EX', 60);
    await t.redis.hdel(t.keys.event(event.tag), EVENT_FIELDS.marker('flow', 'book'));
    const err = await t
      .run(event.job, { attemptsMade: 1, lock: { key: lockKey, token: 'this-worker' } })
      .catch((e) => e);
    expect(err).toBeInstanceOf(LockLostError);
    expect(await t.redis.llen(listKey())).toBe(1);
  });

  it('goes on while it holds the lock, on a single Redis and on a cluster (where the lock is read alongside)', async () => {
    await setup();
    for (const cluster of [false, true]) {
      const id = `evt_owner_${cluster}`;
      const event = await t.acceptEvent(id, {});
      const key = `${t.config.QUEUE_PREFIX}:lock:${id}`;
      await t.redis.set(key, 'this-worker', 'EX', 60);
      const real = t.engine.redis;
      if (cluster) {
        t.engine.redis = new Proxy(real, {
          get: (target, prop) => {
            if (prop === 'isCluster') return true;
            const value = Reflect.get(target, prop, target);
            return typeof value === 'function' ? value.bind(target) : value;
          },
        });
      }
      try {
        expect(await t.run(event.job, { lock: { key, token: 'this-worker' } })).toMatchObject({
          outcome: 'completed',
        });
        await t.redis.set(key, 'another-worker', 'EX', 60);
        const again = await t.acceptEvent(`${id}_lost`, {});
        expect(
          await t.run(again.job, { lock: { key, token: 'this-worker' } }).catch((e) => e),
        ).toBeInstanceOf(LockLostError);
      } finally {
        t.engine.redis = real;
      }
    }
  });

  it('skips a step the other worker committed meanwhile, seen in the same round trip as its own commit', async () => {
    await setup();
    const event = await t.acceptEvent('evt_overtaken', {});
    // Another run committed `book` while this one was charging.
    await t.redis.hset(
      t.keys.event(event.tag),
      EVENT_FIELDS.marker('flow', 'book'),
      JSON.stringify({ booked: 5 }),
    );
    const outcome = await t.run(event.job);
    expect(outcome).toMatchObject({ ran: ['charge', 'mail'], skipped: ['book'] });
    expect(await t.redis.llen(listKey())).toBe(0);
  });
});
