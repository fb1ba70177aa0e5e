import { type Inspector, inspect, pool, type System, sleep, startSystem } from '@oncehook/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

// Workers kill -9'ed over and over while hundreds of events are in flight, and the payments and
// mail APIs failing each key's first call: every event still completes, each effect exactly once.
const N = 300;
let sys: System;
let view: Inspector;

beforeAll(async () => {
  sys = await startSystem({ workers: 2, apis: { failFirst: true, delayMs: 30 } });
  view = inspect(sys.redis.url, sys.prefix);
});
afterAll(async () => {
  await view?.close();
  await sys?.stop();
});

describe('workers killed -9 mid-flight', () => {
  it('loses nothing and does nothing twice', async () => {
    const ids = Array.from({ length: N }, (_, i) => `evt_kill_${i}`);
    const amount = (i: number) => 100 + i;

    let killing = true;
    let kills = 0;
    const killer = (async () => {
      while (killing) {
        await sleep(600 + Math.random() * 600);
        // Only a kill that hits work in flight tests recovery.
        if ((await view.events.getActiveCount()) === 0) continue;
        const alive = sys.workers.filter((w) => w.child.exitCode === null && w.child.signalCode === null);
        const victim = alive[Math.floor(Math.random() * alive.length)];
        if (!victim || !killing) continue;
        victim.kill('SIGKILL');
        kills++;
        sys.spawnWorker();
      }
    })();

    const started = performance.now();
    const answers = await pool(ids, 4, async (id, i) => {
      await sleep(40); // spread the deliveries over the killing
      return sys.deliver(id, amount(i));
    });
    expect(answers.every((a) => a.status === 200)).toBe(true);
    await sleep(3000);
    killing = false;
    await killer;

    expect(await sys.waitFor(ids, ['completed'], 120_000)).toEqual([]);
    const seconds = (performance.now() - started) / 1000;
    console.log(`kill -9: ${N} events, ${kills} workers killed, all completed in ${seconds.toFixed(1)} s`);
    expect(kills).toBeGreaterThanOrEqual(5);
    // The kills hit work in flight: jobs of dead workers were recovered as stalled.
    const stalled = sys
      .output()
      .split('\n')
      .filter((l) => l.includes('stalled job'));
    const recovered = stalled.length;
    console.log(`kill -9: ${recovered} stalled jobs recovered`);
    expect(recovered).toBeGreaterThan(0);
    // Each named by its event as the provider sent it, not by a job id.
    for (const line of stalled) expect(ids).toContain(JSON.parse(line.slice(line.indexOf('{'))).eventId);

    expect(sys.apis.charges.size).toBe(N);
    expect(sys.apis.emails.size).toBe(N);
    expect(sys.apis.stats.noKey).toBe(0);
    expect(sys.apis.stats.injected).toBe(2 * N);
    const entries = sys.ledgerEntries();
    expect(entries).toHaveLength(N);
    expect(new Set(entries.map((e) => e.eventId)).size).toBe(N);
    const total = ids.reduce((sum, _, i) => sum + amount(i), 0);
    expect(await sys.ledger()).toEqual({ entries: N, totals: { USD: total } });
  });

  it('stops gracefully on SIGTERM', async () => {
    const worker = sys.spawnWorker();
    await sleep(3000);
    worker.kill('SIGTERM');
    expect(await worker.exited).toEqual({ code: 0, signal: null });
  });
});
