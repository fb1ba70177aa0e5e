// Prints the plain closing line CI reads: "N passed, N failed" (lint and the benchmark smoke run
// count as one check each).
import { existsSync, readFileSync } from 'node:fs';

const [file, ...checks] = process.argv.slice(2);
let passed = 0;
let failed = 0;
if (file && existsSync(file)) {
  const r = JSON.parse(readFileSync(file, 'utf8'));
  passed = r.numPassedTests;
  failed = r.numFailedTests + (r.numRuntimeErrorTestSuites ?? 0);
  if (!r.success && failed === 0) failed = 1;
} else {
  failed = 1; // the test command died before vitest wrote its report (typecheck, install)
}
for (const status of checks) {
  if (status === '0') passed += 1;
  else failed += 1;
}
console.log(`${passed} passed, ${failed} failed`);
