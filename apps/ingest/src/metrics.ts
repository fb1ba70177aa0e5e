import { type PartitionedQueues, queueJobsGauge, redisCheckGauge } from '@oncehook/shared';
import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client';
import { macsComputedSoFar } from './verify/signing.ts';

/** What became of a delivery on the webhook routes: the `outcome` label. */
export type DeliveryOutcome = 'accepted' | 'duplicate' | 'copy' | 'refused' | 'aborted' | 'unavailable';

export function createMetrics(queues: PartitionedQueues) {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: 'oncehook_ingest_' });
  const deliveries = new Counter({
    name: 'oncehook_deliveries_total',
    help: "Webhook deliveries by source and outcome (accepted, duplicate, copy: an earlier event's signed body under a new id, refused, aborted: the client went away mid-request, unavailable).",
    labelNames: ['source', 'outcome'] as const,
    registers: [registry],
  });
  const conflicts = new Counter({
    name: 'oncehook_conflicts_total',
    help: 'Re-deliveries whose body differed from the first delivery of the same event id.',
    labelNames: ['source'] as const,
    registers: [registry],
  });
  new Gauge({
    name: 'oncehook_signature_macs_total',
    help: 'MACs computed to verify signatures since start: one pass over the body per configured secret.',
    registers: [registry],
    collect() {
      this.set(macsComputedSoFar());
    },
  });
  const duration = new Histogram({
    name: 'oncehook_ingest_duration_seconds',
    help: 'Time from request to answer on the webhook routes.',
    labelNames: ['source'] as const,
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
    registers: [registry],
  });
  queueJobsGauge(registry, queues.pairs);
  const redisChecks = redisCheckGauge(registry);
  // Every delivery touches these: the labelled children are looked up once, not hashed each time.
  const deliveriesBy = memo((source) => memo((outcome) => deliveries.labels(source, outcome)));
  const durationOf = memo((source) => duration.labels(source));
  return {
    registry,
    conflicts,
    redisChecked: redisChecks.checked,
    /** The start-up checks' last results, for /readyz. */
    redisChecks: redisChecks.results,
    delivered: (source: string, outcome: DeliveryOutcome) => deliveriesBy(source)(outcome).inc(),
    took: (source: string, seconds: number) => durationOf(source).observe(seconds),
  };
}

/** `make(key)`, made once per key. */
function memo<T>(make: (key: string) => T): (key: string) => T {
  const made = new Map<string, T>();
  return (key) => {
    const known = made.get(key);
    if (known !== undefined) return known;
    const value = make(key);
    made.set(key, value);
    return value;
  };
}

export type Metrics = ReturnType<typeof createMetrics>;
