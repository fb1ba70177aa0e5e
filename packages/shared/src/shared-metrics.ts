import { Gauge, type Registry } from 'prom-client';
import type { QueuePair } from './partitions.ts';
import type { RedisCheck } from './redis-checks.ts';

/**
 * The metrics both apps export under one name (docs/alerts.yml reads them from either): defined
 * here once, so the two cannot drift apart.
 */

/** `oncehook_queue_jobs`: jobs per queue, partition and state, read from Redis at scrape time. */
export function queueJobsGauge(registry: Registry, pairs: () => QueuePair[]): void {
  new Gauge({
    name: 'oncehook_queue_jobs',
    help: 'Jobs per queue, partition ("p1of3": the second of three) and state, read from Redis at scrape time.',
    labelNames: ['queue', 'partition', 'state'] as const,
    registers: [registry],
    async collect() {
      for (const { partition, events, workflows } of pairs()) {
        for (const queue of [events, workflows]) {
          try {
            const counts = await queue.getJobCounts('waiting', 'active', 'delayed', 'failed', 'completed');
            for (const [state, n] of Object.entries(counts))
              this.set({ queue: queue.name, partition: partition.label, state }, n);
          } catch {
            // Redis unreachable: /readyz says so; the scrape itself still answers.
          }
        }
      }
    },
  });
}

/**
 * `oncehook_redis_check`: the start-up checks of Redis (1 passes, 0 fails). `checked` takes the
 * results when they come (superviseRedis's `onChecked`); `results` gives them to /readyz.
 */
export function redisCheckGauge(registry: Registry) {
  let results: RedisCheck[] = [];
  new Gauge({
    name: 'oncehook_redis_check',
    help: 'Start-up checks of Redis by check (version, eviction_policy, persistence) and server: 1 passes, 0 fails or could not be read.',
    labelNames: ['check', 'server'] as const,
    registers: [registry],
    collect() {
      for (const c of results) this.set({ check: c.check, server: c.server }, c.ok ? 1 : 0);
    },
  });
  return {
    checked(latest: RedisCheck[]) {
      results = latest;
    },
    results: () => results,
  };
}
