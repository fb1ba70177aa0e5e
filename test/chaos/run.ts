/**
 * `npm run chaos -- --seed N --minutes M [--mode sentinel|cluster] [--rate R] [--keep-logs] [--hold]`:
 * the fault-and-feature run (chaos.ts). `--hold` keeps everything running after a violation, to
 * look around, until Ctrl-C. The seed alone fixes the fault schedule and the load; a run
 * that finds a violation prints both, and the line that reproduces it, and exits 1.
 */
import { parseArgs } from 'node:util';
import { buildApps } from '../../scripts/build.mjs';
import { DEFAULT_RATE, runChaos } from './chaos.ts';
import type { Mode } from './store.ts';

const { values } = parseArgs({
  options: {
    seed: { type: 'string' },
    minutes: { type: 'string', default: '2' },
    mode: { type: 'string', default: 'sentinel' },
    rate: { type: 'string', default: String(DEFAULT_RATE) },
    'keep-logs': { type: 'boolean', default: false },
    hold: { type: 'boolean', default: false },
  },
});
const fail = (message: string): never => {
  console.error(`npm run chaos: ${message}`);
  process.exit(2);
};
const seed = values.seed === undefined ? Math.floor(Math.random() * 100_000) : Number(values.seed);
const minutes = Number(values.minutes);
const rate = Number(values.rate);
if (!Number.isSafeInteger(seed) || seed < 0) fail(`--seed must be a whole number, not "${values.seed}"`);
if (!(minutes > 0 && minutes <= 600))
  fail(`--minutes must be a number of minutes (0-600], not "${values.minutes}"`);
if (!(rate > 0 && rate <= 200)) fail(`--rate must be events a second (0-200], not "${values.rate}"`);
if (values.mode !== 'sentinel' && values.mode !== 'cluster')
  fail(`--mode is sentinel or cluster, not "${values.mode}"`);

let teardown: (() => Promise<void>) | undefined;
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    console.error(`\n${signal}: stopping every process the run started`);
    void (teardown?.() ?? Promise.resolve()).finally(() => process.exit(130));
  });
}

await buildApps();
const result = await runChaos({
  seed,
  minutes,
  mode: values.mode as Mode,
  rate,
  keepLogs: values['keep-logs'],
  hold: values.hold,
  onTeardown: (fn) => {
    teardown = fn;
  },
});
process.exit(result.violations.length === 0 ? 0 : 1);
