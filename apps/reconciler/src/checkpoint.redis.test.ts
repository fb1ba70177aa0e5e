import { createTestApp, type TestApp } from '@oncehook/ingest/testing';
import { createLogger } from '@oncehook/shared';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { feedState, LockLost } from './checkpoint.ts';
import { acquireLock, type SourceLock } from './lock.ts';

const log = createLogger({ LOG_LEVEL: 'silent', LOG_FORMAT: 'json' }, 'checkpoint-test');
let t: TestApp;
let lock: SourceLock;
beforeEach(async () => {
  t = await createTestApp();
  lock = (await acquireLock(t.redis, t.keys, 'stripe', 5000, log)) as SourceLock;
});
afterEach(async () => {
  await lock.release();
  await t.close();
});

const feed = () => feedState(t.redis, t.keys, 'stripe', 'events', lock);

describe('a feed checkpoint', () => {
  it('keeps a run in progress and how far down it got, until the run commits', async () => {
    const f = feed();
    expect(await f.read()).toEqual({});
    await f.begin(1000, 2000);
    expect(await f.read()).toEqual({ unfinished: { from: 1000, to: 2000, upTo: 2000 } });
    await f.progress(1500);
    expect(await f.read()).toEqual({ unfinished: { from: 1000, to: 2000, upTo: 1500 } });
    expect(await f.commit(1000, 2000)).toBe(2000);
    expect(await f.read()).toEqual({ checkpoint: 2000 });
  });

  it('moves only forward, and not over a gap: a run that started after it leaves it', async () => {
    const f = feed();
    await f.commit(1000, 2000);
    await f.commit(500, 1800); // an older one-off range: the checkpoint stays
    expect((await f.read()).checkpoint).toBe(2000);
    await f.commit(2100, 3000); // starts after the checkpoint: [2000, 2100) was never walked
    expect((await f.read()).checkpoint).toBe(2000);
    await f.commit(1700, 3000);
    expect((await f.read()).checkpoint).toBe(3000);
  });

  it('refuses every write from a reconciler that lost its lock', async () => {
    const f = feed();
    await f.begin(1000, 2000);
    await t.redis.set(t.keys.reconcileLock('stripe'), 'another-reconciler');
    await expect(f.progress(1500)).rejects.toBeInstanceOf(LockLost);
    await expect(f.commit(1000, 2000)).rejects.toBeInstanceOf(LockLost);
    await expect(f.begin(0, 1)).rejects.toBeInstanceOf(LockLost);
    expect(await f.read()).toEqual({ unfinished: { from: 1000, to: 2000, upTo: 2000 } });
  });

  it('is kept per feed and expires a month after its last write', async () => {
    await feed().commit(1000, 2000);
    const other = feedState(t.redis, t.keys, 'stripe', 'other', lock);
    expect(await other.read()).toEqual({});
    const ttl = await t.redis.ttl(t.keys.reconcileFeed('stripe', 'events'));
    expect(ttl).toBeGreaterThan(30 * 86_400);
  });
});
