import { Counter, collectDefaultMetrics, Gauge, Registry } from 'prom-client';

/** What a run found, per event: already received by the ingest, or recovered now. */
export type Finding = 'already_seen' | 'recovered' | 'failed';
export type RunResult = 'completed' | 'failed' | 'locked';

/** `sources`: the ones this process reconciles, whose counters read 0 from the start. */
export function createReconcilerMetrics(sources: readonly string[] = []) {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: 'oncehook_reconciler_' });
  const found = new Counter({
    name: 'oncehook_reconcile_found_total',
    help: 'Events the provider lists as not (or not yet) delivered, found by the reconciler.',
    labelNames: ['source'] as const,
    registers: [registry],
  });
  const seen = new Counter({
    name: 'oncehook_reconcile_already_seen_total',
    help: 'Found events the ingest had already received: counted as a delivery, nothing runs again.',
    labelNames: ['source'] as const,
    registers: [registry],
  });
  const recovered = new Counter({
    name: 'oncehook_reconcile_recovered_total',
    help: 'Found events the ingest had never received: enqueued now (Stripe), or redelivery requested (GitHub).',
    labelNames: ['source'] as const,
    registers: [registry],
  });
  const failed = new Counter({
    name: 'oncehook_reconcile_failed_total',
    help: 'Found events the provider refused to redeliver (GitHub: too old, or the hook is gone).',
    labelNames: ['source'] as const,
    registers: [registry],
  });
  const runs = new Counter({
    name: 'oncehook_reconcile_runs_total',
    help: 'Reconciler runs by result: completed, failed (retried next time from the checkpoint), locked (another reconciler was running).',
    labelNames: ['source', 'result'] as const,
    registers: [registry],
  });
  const rateLimited = new Counter({
    name: 'oncehook_reconcile_rate_limited_total',
    help: 'Provider API calls answered "rate limited", each followed by a wait.',
    labelNames: ['source'] as const,
    registers: [registry],
  });
  const checkpoint = new Gauge({
    name: 'oncehook_reconcile_checkpoint_seconds',
    help: "Unix time up to which every event of a feed was fed into the ingest path (the provider's clock).",
    labelNames: ['source', 'feed'] as const,
    registers: [registry],
  });
  const lastCompleted = new Gauge({
    name: 'oncehook_reconcile_last_completed_seconds',
    help: 'Unix time of the last completed run: alert when it falls behind RECONCILE_INTERVAL.',
    labelNames: ['source'] as const,
    registers: [registry],
  });
  const byFinding = { already_seen: seen, recovered, failed } as const;
  for (const source of sources) {
    for (const counter of [found, seen, recovered, failed, rateLimited]) counter.inc({ source }, 0);
    for (const result of ['completed', 'failed', 'locked']) runs.inc({ source, result }, 0);
  }
  return {
    registry,
    found: (source: string) => found.inc({ source }),
    finding: (source: string, finding: Finding) => byFinding[finding].inc({ source }),
    rateLimited: (source: string) => rateLimited.inc({ source }),
    checkpoint: (source: string, feed: string, seconds: number) => checkpoint.set({ source, feed }, seconds),
    run(source: string, result: RunResult) {
      runs.inc({ source, result });
      if (result === 'completed') lastCompleted.set({ source }, Date.now() / 1000);
    },
  };
}

export type ReconcilerMetrics = ReturnType<typeof createReconcilerMetrics>;
