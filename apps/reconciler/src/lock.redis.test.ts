import { createTestApp, type TestApp } from '@oncehook/ingest/testing';
import { createLogger } from '@oncehook/shared';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { acquireLock } from './lock.ts';

const log = createLogger({ LOG_LEVEL: 'silent', LOG_FORMAT: 'json' }, 'lock-test');
let t: TestApp;
beforeEach(async () => {
  t = await createTestApp();
});
afterEach(async () => {
  await t.close();
});

describe('the reconciler lock', () => {
  it('is held by one reconciler per source at a time', async () => {
    const first = await acquireLock(t.redis, t.keys, 'stripe', 5000, log);
    expect(first).not.toBeNull();
    expect(await acquireLock(t.redis, t.keys, 'stripe', 5000, log)).toBeNull();
    const other = await acquireLock(t.redis, t.keys, 'github', 5000, log);
    expect(other).not.toBeNull();
    await first?.release();
    expect(await acquireLock(t.redis, t.keys, 'stripe', 5000, log)).not.toBeNull();
    await other?.release();
  });

  it('is renewed while held, and frees itself once its holder stops renewing (kill -9)', async () => {
    const held = await acquireLock(t.redis, t.keys, 'stripe', 600, log);
    await new Promise((r) => setTimeout(r, 1000)); // past one time to live: renewed meanwhile
    expect(held?.lost()).toBe(false);
    expect(await acquireLock(t.redis, t.keys, 'stripe', 600, log)).toBeNull();
    await held?.release();

    // A holder that died: its key still carries its token, but nobody renews it.
    await t.redis.set(t.keys.reconcileLock('stripe'), 'dead-holder', 'PX', 300);
    expect(await acquireLock(t.redis, t.keys, 'stripe', 600, log)).toBeNull();
    await new Promise((r) => setTimeout(r, 400));
    expect(await acquireLock(t.redis, t.keys, 'stripe', 600, log)).not.toBeNull();
  });

  it('release frees only its own lock, and a holder whose lock was taken knows it', async () => {
    const held = await acquireLock(t.redis, t.keys, 'stripe', 600, log);
    await t.redis.set(t.keys.reconcileLock('stripe'), 'someone-else');
    await new Promise((r) => setTimeout(r, 300)); // one renewal
    expect(held?.lost()).toBe(true);
    await held?.release();
    expect(await t.redis.get(t.keys.reconcileLock('stripe'))).toBe('someone-else');
    await t.redis.del(t.keys.reconcileLock('stripe'));
  });
});
