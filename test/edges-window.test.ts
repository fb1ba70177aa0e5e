import { eventJobId, eventTag } from '@oncehook/shared';
import { inspect, pool, type System, sleep, startSystem } from '@oncehook/testing';
import { afterAll, describe, expect, it } from 'vitest';

/**
 * Time limits, run past on real processes with the window shortened to 60 s (the shortest allowed):
 * an event whose retries outlast its window, and a dead letter replayed after its window. Both
 * scenarios run at once, to share the minute they have to wait.
 */
const WINDOW_S = 60;
const systems: System[] = [];
afterAll(async () => {
  await Promise.all(systems.map((s) => s.stop()));
});

async function system(env: Record<string, string>) {
  const s = await startSystem({ workers: 1, env: { DEDUPE_TTL_SECONDS: String(WINDOW_S), ...env } });
  systems.push(s);
  return s;
}

describe.concurrent('past the dedupe window', () => {
  it('an event whose payments API is down longer than its window completes once, and stays deduped', async () => {
    // Retries every few seconds, growing: the last ones fall well past the 60 s window.
    const s = await system({ BACKOFF_MS: '2000', MAX_ATTEMPTS: '12' });
    const ids = Array.from({ length: 20 }, (_, i) => `evt_outage_${i}`);
    s.apis.setDown(true, 'payments');
    const started = Date.now();
    const first = await pool(ids, 10, (id) => s.deliver(id, 1000));
    expect(first.map((a) => a.json?.duplicate)).toEqual(ids.map(() => false));

    // Past the window, while every event is still retrying: each re-delivery is still a duplicate,
    // and /status still knows every event (no 404 while its job lives).
    await sleep(WINDOW_S * 1000 + 3000 - (Date.now() - started));
    const late = await pool(ids, 10, (id) => s.deliver(id, 1000));
    expect(late.map((a) => [a.status, a.json?.duplicate])).toEqual(ids.map(() => [200, true]));
    const states = await pool(ids, 10, async (id) => (await s.status(id))?.state);
    expect(states.every((st) => st === 'retrying' || st === 'processing')).toBe(true);
    expect(s.apis.charges.size).toBe(0);

    s.apis.setDown(false, 'payments');
    expect(await s.waitFor(ids, ['completed'], 120_000)).toEqual([]);
    expect(Date.now() - started).toBeGreaterThan(WINDOW_S * 1000);

    // Exactly once: one charge, one receipt, one ledger entry per event; the API saw each key once.
    expect(s.apis.charges.size).toBe(ids.length);
    expect([...s.apis.charges.values()].every((c) => c.hits === 1)).toBe(true);
    expect(s.apis.emails.size).toBe(ids.length);
    expect(
      s
        .ledgerEntries()
        .map((e) => e.eventId)
        .sort(),
    ).toEqual([...ids].sort());

    // A re-delivery right after completion is a duplicate, and runs nothing.
    const after = await pool(ids, 10, (id) => s.deliver(id, 1000));
    expect(after.map((a) => a.json?.duplicate)).toEqual(ids.map(() => true));
    await sleep(1000);
    expect(s.apis.charges.size).toBe(ids.length);
    expect(s.ledgerEntries()).toHaveLength(ids.length);
  });

  it('a dead letter replayed after its window skips the steps it had done', async () => {
    // The receipt fails for good (2 attempts) while the mail API is down; the charge was made.
    const s = await system({ BACKOFF_MS: '200', MAX_ATTEMPTS: '2', FAILED_RETENTION: '600' });
    const ids = Array.from({ length: 10 }, (_, i) => `evt_dead_${i}`);
    s.apis.setDown(true, 'emails');
    const started = Date.now();
    await pool(ids, 10, (id) => s.deliver(id, 700));
    expect(await s.waitFor(ids, ['failed'], 60_000)).toEqual([]);
    expect(s.apis.charges.size).toBe(ids.length);

    await sleep(WINDOW_S * 1000 + 3000 - (Date.now() - started));
    s.apis.setDown(false, 'emails');
    // What Bull Board's "retry" button does, for every dead letter.
    const view = inspect(s.redis.url, s.prefix);
    try {
      for (const id of ids) {
        const record = await view.record(id);
        const job = await view.events.getJob(eventJobId(eventTag('demo', id), Number(record.receivedAt)));
        expect(await job?.getState()).toBe('failed');
        await job?.retry('failed');
      }
    } finally {
      await view.close();
    }
    expect(await s.waitFor(ids, ['completed'], 60_000)).toEqual([]);

    expect(s.apis.charges.size).toBe(ids.length);
    expect([...s.apis.charges.values()].every((c) => c.hits === 1)).toBe(true);
    expect(s.apis.emails.size).toBe(ids.length);
    expect(s.ledgerEntries()).toHaveLength(ids.length);
  });
});
