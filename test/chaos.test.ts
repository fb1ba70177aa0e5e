import { describe, expect, it } from 'vitest';
import { runChaos } from './chaos/chaos.ts';

/*
 * The fault-and-feature run (test/chaos/), one short seed of each mode: plain, fanned-out and
 * ordered workflows under duplicate deliveries, operator replays, kill -9 of any process, paused
 * workers, API outages, and a Redis failover (sentinel) or a paused master (cluster). `pnpm chaos`
 * runs longer ones; a failure prints the seed's schedule and the line that reproduces it.
 */
const MINUTES = 1.25;

describe('the chaos run', () => {
  // Seeds whose 75 s hold their mode's hardest faults: sentinel 16 loses its primary twice (the
  // second time after a replication stall) and freezes a worker past its lock; cluster 19 pauses
  // a master past the cluster's node timeout while workers are frozen past theirs.
  for (const [mode, seed] of [
    ['sentinel', 16],
    ['cluster', 19],
  ] as const) {
    it(`${mode}, seed ${seed}: every event answered 200 has each effect once, nothing stuck`, async () => {
      const { violations, summary, report } = await runChaos({
        seed,
        minutes: MINUTES,
        mode,
        print: () => {},
      });
      console.log(violations.length === 0 ? summary : report);
      expect(violations.map((v) => `[${v.kind}] ${v.detail}`)).toEqual([]);
    }, 900_000);
  }
});
