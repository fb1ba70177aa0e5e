import { pool, type System, startSystem } from '@oncehook/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

// Every event delivered 4x at once, then once more after it completed, through the real ingest
// and two real workers: one payment, one email, one ledger entry per event.
const N = 200;
let sys: System;

beforeAll(async () => {
  sys = await startSystem({ workers: 2 });
});
afterAll(async () => {
  await sys?.stop();
});

describe('a duplicate storm', () => {
  it('charges, mails and books each event exactly once', async () => {
    const ids = Array.from({ length: N }, (_, i) => `evt_storm_${i}`);
    const amount = (i: number) => 1000 + i;
    const sends = ids.flatMap((id, i) => [id, id, id, id].map(() => ({ id, amount: amount(i) })));
    sends.sort(() => Math.random() - 0.5);

    const started = performance.now();
    const answers = await pool(sends, 64, ({ id, amount }) => sys.deliver(id, amount));
    expect(answers.filter((a) => a.status !== 200)).toEqual([]);
    expect(answers.filter((a) => a.json?.duplicate === false)).toHaveLength(N);
    expect(await sys.waitFor(ids)).toEqual([]);
    const seconds = (performance.now() - started) / 1000;
    console.log(
      `duplicate storm: ${N} events x4 completed in ${seconds.toFixed(1)} s (${(N / seconds).toFixed(0)} events/s)`,
    );

    const again = await pool(ids, 32, (id, i) => sys.deliver(id, amount(i)));
    expect(again.every((a) => a.status === 200 && a.json?.duplicate === true)).toBe(true);
    // Give a wrongly re-enqueued job time to run before counting.
    await new Promise((r) => setTimeout(r, 1500));

    expect(sys.apis.charges.size).toBe(N);
    expect(sys.apis.emails.size).toBe(N);
    expect(sys.apis.stats.noKey).toBe(0);
    const total = ids.reduce((sum, _, i) => sum + amount(i), 0);
    expect(await sys.ledger()).toEqual({ entries: N, totals: { USD: total } });
    const status = await sys.status(ids[0] ?? '');
    expect(status).toMatchObject({ state: 'completed', deliveries: 5 });
  });
});
