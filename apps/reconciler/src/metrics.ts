import { Counter, collectDefaultMetrics, Gauge, Registry } from 'prom-client';

/** What a run found, per event: already received by the ingest, or recovered now. */
export type Finding = 'already_seen' | 'recovered' | 'failed';
export type RunResult = 'completed' | 'failed' | 'locked';

/** `sources`: the ones this process reconciles, whose counters read 0 from the start. */
export function createReconcilerMetrics(sources: readonly string[] = []) {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: 'oncehook_reconciler_' });
  // Every metric here is `oncehook_reconcile_…`, by source unless it says otherwise.
  const counter = (name: string, help: string, labelNames = ['source']) =>
    new Counter({ name: `oncehook_reconcile_${name}`, help, labelNames, registers: [registry] });
  const gauge = (name: string, help: string, labelNames = ['source']) =>
    new Gauge({ name: `oncehook_reconcile_${name}`, help, labelNames, registers: [registry] });
  const found = counter(
    'found_total',
    'Events the provider lists as not (or not yet) delivered, found by the reconciler.',
  );
  const seen = counter(
    'already_seen_total',
    'Found events the ingest had already received: counted as a delivery, nothing runs again.',
  );
  const recovered = counter(
    'recovered_total',
    'Found events the ingest had never received: enqueued now (Stripe), or redelivery requested (GitHub).',
  );
  const failed = counter(
    'failed_total',
    'Found events the provider refused to redeliver (GitHub: too old, or the hook is gone).',
  );
  const runs = counter(
    'runs_total',
    'Reconciler runs by result: completed, failed (retried next time from the checkpoint), locked (another reconciler was running).',
    ['source', 'result'],
  );
  const rateLimited = counter(
    'rate_limited_total',
    'Provider API calls answered "rate limited", each followed by a wait.',
  );
  const checkpoint = gauge(
    'checkpoint_seconds',
    "Unix time up to which every event of a feed was fed into the ingest path (the provider's clock).",
    ['source', 'feed'],
  );
  const lastCompleted = gauge(
    'last_completed_seconds',
    'Unix time of the last completed run: alert when it falls behind RECONCILE_INTERVAL.',
  );
  const byFinding = { already_seen: seen, recovered, failed } as const;
  for (const source of sources) {
    for (const c of [found, seen, recovered, failed, rateLimited]) c.inc({ source }, 0);
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
