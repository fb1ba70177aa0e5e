// Prints the plain closing line CI reads: "N passed, N failed". Arguments: the vitest JSON
// reports (one per Node version), `--`, then the exit status of each other check (lint, the
// benchmark smoke run), each counting as one check.
import { existsSync, readFileSync } from 'node:fs';

const args = process.argv.slice(2);
const split = args.indexOf('--');
const files = split === -1 ? args.slice(0, 1) : args.slice(0, split);
const checks = split === -1 ? args.slice(1) : args.slice(split + 1);
let passed = 0;
let failed = 0;
for (const file of files) {
  if (!existsSync(file)) {
    failed += 1; // the test command died before vitest wrote its report (typecheck, install)
    continue;
  }
  const r = JSON.parse(readFileSync(file, 'utf8'));
  passed += r.numPassedTests;
  const f = r.numFailedTests + (r.numRuntimeErrorTestSuites ?? 0);
  failed += f;
  if (!r.success && f === 0) failed += 1;
}
for (const status of checks) {
  if (status === '0') passed += 1;
  else failed += 1;
}
console.log(`${passed} passed, ${failed} failed`);
