import { pool, type System, startSystem } from '@oncehook/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

// SIMULATE_CRASH=charge: every event's first charge attempt fails after the payments API charged
// and before the marker. The retry must send the same idempotency key and get the same payment.
const N = 40;
let sys: System;

beforeAll(async () => {
  sys = await startSystem({ workers: 1, env: { SIMULATE_CRASH: 'charge', LOG_LEVEL: 'info' } });
});
afterAll(async () => {
  await sys?.stop();
});

describe('SIMULATE_CRASH=charge', () => {
  it('charges each event once: the retry reuses the payment', async () => {
    const ids = Array.from({ length: N }, (_, i) => `evt_crash_${i}`);
    const answers = await pool(ids, 16, (id) => sys.deliver(id, 2500));
    expect(answers.every((a) => a.status === 200)).toBe(true);
    expect(await sys.waitFor(ids)).toEqual([]);

    expect(sys.apis.charges.size).toBe(N);
    // Two requests per key: the one before the crash and the retry's, answered with the same payment.
    expect([...sys.apis.charges.values()].map((c) => c.hits)).toEqual(Array(N).fill(2));
    expect(sys.apis.emails.size).toBe(N);
    expect(await sys.ledger()).toEqual({ entries: N, totals: { USD: 2500 * N } });
    expect(await sys.status(ids[0] ?? '')).toMatchObject({ state: 'completed', attempts: 2 });

    // The log tells the story for each event: charged, crashed, retried with the same payment.
    const paymentId = sys.apis.charges.get('demo:evt_crash_0:payment.charge')?.id ?? 'missing';
    const lines = sys
      .output()
      .split('\n')
      .filter((line) => line.includes('"eventId":"evt_crash_0"') && line.includes('"step":"charge"'));
    expect(lines.some((l) => l.includes('SIMULATE_CRASH=charge'))).toBe(true);
    const charged = lines.filter((l) => l.includes(`"paymentId":"${paymentId}"`) && l.includes('"attempt"'));
    expect(charged.map((l) => JSON.parse(l).attempt)).toEqual([1, 2]);
  });
});
