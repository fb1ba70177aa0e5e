import { type QueuePair, queueJobsGauge, redisCheckGauge } from '@oncehook/shared';
import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client';
import type { RunEnd } from '../engine/run-workflow.ts';
import { type DestinationsSeen, destinationMetrics } from './destination-metrics.ts';

/** How a run ended (RunEnd), or `replayed`: a run that a replay put back in the queue was taken. */
export type RunOutcome = RunEnd | 'replayed';

/** The worker's Prometheus metrics (docs/operations.md lists them, generated; docs/alerts.yml uses them). */
/**
 * `workflows`: the names this worker runs; their counters start at 0, so that a rate or `increase`
 * over them is defined from the first scrape on, before the first failure. `destinations`: the
 * ones it forwards to.
 */
export function createWorkerMetrics(
  queues: () => QueuePair[],
  workflows: readonly string[] = [],
  destinations?: DestinationsSeen,
) {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: 'oncehook_worker_' });
  const runs = new Counter({
    name: 'oncehook_workflow_runs_total',
    help: 'Workflow run attempts by workflow and outcome: completed, retried (failed, BullMQ retries it), failed (for good), replayed (taken again after a replay).',
    labelNames: ['workflow', 'outcome'] as const,
    registers: [registry],
  });
  const steps = new Histogram({
    name: 'oncehook_step_duration_seconds',
    help: 'Time a step took, from its start to its marker committed, by workflow and step.',
    labelNames: ['workflow', 'step'] as const,
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
    registers: [registry],
  });
  const stalled = new Counter({
    name: 'oncehook_stalled_jobs_total',
    help: 'Jobs found stalled (their worker died or lost the lock) and put back in the queue.',
    labelNames: ['queue'] as const,
    registers: [registry],
  });
  const active = new Gauge({
    name: 'oncehook_worker_active_jobs',
    help: 'Jobs this worker is processing now.',
    registers: [registry],
  });
  const alerts = new Counter({
    name: 'oncehook_alerts_total',
    help: 'ALERT_WEBHOOK_URL posts for workflows failed for good: sent, or failed (after its retries).',
    labelNames: ['outcome'] as const,
    registers: [registry],
  });
  for (const workflow of workflows)
    for (const outcome of ['completed', 'retried', 'failed', 'replayed'] as const)
      runs.inc({ workflow, outcome }, 0);
  for (const outcome of ['sent', 'failed'] as const) alerts.inc({ outcome }, 0);
  const redisChecks = redisCheckGauge(registry);
  queueJobsGauge(registry, queues);
  new Gauge({
    name: 'oncehook_queue_oldest_waiting_seconds',
    help: 'Age of the oldest job waiting to be taken, per queue and partition (0: none waits).',
    labelNames: ['queue', 'partition'] as const,
    registers: [registry],
    async collect() {
      for (const { partition, events, workflows } of queues()) {
        for (const queue of [events, workflows]) {
          try {
            // The wait list's tail is its oldest job: the next one taken.
            const [oldest] = await queue.getJobs(['wait'], -1, -1, false);
            const age = oldest ? Math.max(0, (Date.now() - oldest.timestamp) / 1000) : 0;
            this.set({ queue: queue.name, partition: partition.label }, age);
          } catch {
            // As above.
          }
        }
      }
    },
  });
  return {
    ...destinationMetrics(registry, destinations),
    registry,
    runEnded: (workflow: string, outcome: RunOutcome) => runs.inc({ workflow, outcome }),
    stepDone: (workflow: string, step: string, seconds: number) => steps.observe({ workflow, step }, seconds),
    stalled: (queue: string) => stalled.inc({ queue }),
    active,
    alert: (outcome: 'sent' | 'failed') => alerts.inc({ outcome }),
    redisChecked: redisChecks.checked,
    redisChecks: redisChecks.results,
  };
}

export type WorkerMetrics = ReturnType<typeof createWorkerMetrics>;
