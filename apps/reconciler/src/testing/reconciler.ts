import type { AcceptDeps } from '@oncehook/ingest/accept';
import type { TestApp } from '@oncehook/ingest/testing';
import { createLogger } from '@oncehook/shared';
import { createReconcilerMetrics } from '../metrics.ts';
import type { RunDeps } from '../run.ts';

/** What a reconciler run needs, on a test app's Redis, prefix and queue. */
export function reconcilerDeps(t: TestApp, overrides: Partial<RunDeps> = {}) {
  const log = createLogger({ LOG_LEVEL: 'silent', LOG_FORMAT: 'json' }, 'reconciler-test');
  const accept: AcceptDeps = { redis: t.redis, keys: t.keys, queues: t.queues, retry: t.config, log };
  const run: RunDeps = {
    redis: t.redis,
    keys: t.keys,
    log,
    metrics: createReconcilerMetrics(),
    lockTtlMs: 5000,
    lookbackSeconds: 72 * 3600,
    ...overrides,
  };
  return { accept, run };
}
