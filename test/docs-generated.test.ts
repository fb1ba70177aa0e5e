import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT } from '@oncehook/testing';
import { describe, expect, it } from 'vitest';
import { withMetricsTable } from '../scripts/docs-metrics.ts';

describe('the docs generated from the code', () => {
  it("docs/operations.md's metrics table is every metric the processes export", () => {
    const doc = readFileSync(join(ROOT, 'docs', 'operations.md'), 'utf8');
    expect(withMetricsTable(doc), 'run pnpm docs:metrics').toBe(doc);
  });
});
