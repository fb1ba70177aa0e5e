import { describe, expect, it } from 'vitest';
import { createReconcilerMetrics } from './metrics.ts';

describe('the reconciler metrics', () => {
  it('exist from the start, at 0, for every source reconciled: an alert on them has a series to read', async () => {
    const text = await createReconcilerMetrics(['stripe', 'github']).registry.metrics();
    for (const source of ['stripe', 'github']) {
      for (const name of ['found', 'already_seen', 'recovered', 'failed', 'rate_limited'])
        expect(text).toContain(`oncehook_reconcile_${name}_total{source="${source}"} 0`);
      for (const result of ['completed', 'failed', 'locked'])
        expect(text).toContain(`oncehook_reconcile_runs_total{source="${source}",result="${result}"} 0`);
    }
  });
});
