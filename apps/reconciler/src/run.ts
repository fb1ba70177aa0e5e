import type { Keys, Logger, RedisClient } from '@oncehook/shared';
import { type Feed, type FeedState, feedState, LockLost } from './checkpoint.ts';
import { acquireLock, type SourceLock } from './lock.ts';
import type { Finding, ReconcilerMetrics, RunResult } from './metrics.ts';

/**
 * One run of one source: take its lock, let the source walk its feeds (sources/*.ts), release.
 * A run that fails keeps whatever its checkpoints reached; the next one starts from there.
 */

// Each run starts this far before the checkpoint: the checkpoint is our clock, `created` the
// provider's, and an event may become listable a moment after its `created`.
export const OVERLAP_SECONDS = 300;

export interface Tally {
  found: number;
  alreadySeen: number;
  recovered: number;
  failed: number;
  rateLimitWaits: number;
  /** Each feed's checkpoint after the run (unix seconds). */
  checkpoints: Record<string, number>;
}

export interface RunContext {
  log: Logger;
  /** Unix seconds, our clock. */
  now(): number;
  /** `--since`, else undefined: from the checkpoint. */
  since?: number;
  lookbackSeconds: number;
  feed(name: string): Feed;
  /** Throws when the run must end here: the lock was lost, or the process is stopping. */
  check(): void;
  found(finding: Finding): void;
  rateLimited(waitMs: number): void;
  checkpointed(feed: string, seconds: number): void;
}

export interface ReconcileSource {
  /** The ingest source its events belong to. */
  readonly name: string;
  run(ctx: RunContext): Promise<void>;
}

/**
 * Where a run over a feed starts: `--since`, else just before the checkpoint, else the lookback —
 * but never further back than the source's dedupe window. An event received before that may have
 * no record left, and fed in (or redelivered) it would be processed again: a checkpoint that old
 * is moved up to the window with a warning, a `--since` that old fails the run.
 */
export function rangeStart(ctx: RunContext, state: FeedState, windowSeconds: number): number {
  const oldestSafe = ctx.now() - windowSeconds;
  let from = ctx.now() - ctx.lookbackSeconds;
  if (ctx.since !== undefined) from = ctx.since;
  else if (state.checkpoint !== undefined) from = state.checkpoint - OVERLAP_SECONDS;
  if (from >= oldestSafe) return from;
  const why = `its dedupe window (${windowSeconds} s): an event received before then may have no record left, and would be processed again`;
  if (ctx.since !== undefined) throw new Error(`--since reaches back further than ${why}`);
  ctx.log.warn(
    { checkpoint: state.checkpoint, windowSeconds },
    `starting at the window, not further back than ${why}`,
  );
  return oldestSafe;
}

export class RunStopped extends Error {
  override name = 'RunStopped';
}

export interface RunDeps {
  redis: RedisClient;
  keys: Keys;
  log: Logger;
  metrics: ReconcilerMetrics;
  lockTtlMs: number;
  lookbackSeconds: number;
  now?: () => number;
  /** True once the process was asked to stop: the run ends between two pages. */
  stopping?: () => boolean;
}

export interface RunOutcome {
  result: RunResult | 'stopped';
  tally: Tally;
  error?: Error;
}

export async function reconcileSource(
  deps: RunDeps,
  source: ReconcileSource,
  opts: { since?: number } = {},
): Promise<RunOutcome> {
  const { redis, keys, metrics } = deps;
  const log = deps.log.child({ source: source.name });
  const tally: Tally = {
    found: 0,
    alreadySeen: 0,
    recovered: 0,
    failed: 0,
    rateLimitWaits: 0,
    checkpoints: {},
  };
  let lock: SourceLock | null = null;
  try {
    // Redis unreachable: this run fails; the service tries again next round.
    const held = await acquireLock(redis, keys, source.name, deps.lockTtlMs, log);
    lock = held;
    if (!held) {
      metrics.run(source.name, 'locked');
      return { result: 'locked', tally };
    }
    await source.run({
      log,
      now: () => Math.floor((deps.now?.() ?? Date.now()) / 1000),
      since: opts.since,
      lookbackSeconds: deps.lookbackSeconds,
      feed: (name) => feedState(redis, keys, source.name, name, held),
      check() {
        if (held.lost()) throw new LockLost(`the ${source.name} reconciler lock was lost`);
        if (deps.stopping?.()) throw new RunStopped('stopping');
      },
      found(finding) {
        tally.found++;
        if (finding === 'already_seen') tally.alreadySeen++;
        else if (finding === 'recovered') tally.recovered++;
        else tally.failed++;
        metrics.found(source.name);
        metrics.finding(source.name, finding);
      },
      rateLimited(waitMs) {
        tally.rateLimitWaits++;
        metrics.rateLimited(source.name);
        log.info({ waitMs: Math.round(waitMs) }, 'rate limited by the provider: waiting');
      },
      checkpointed(feed, seconds) {
        tally.checkpoints[feed] = seconds;
        metrics.checkpoint(source.name, feed, seconds);
      },
    });
    metrics.run(source.name, 'completed');
    return { result: 'completed', tally };
  } catch (err) {
    const error = err instanceof Error ? err : new Error(String(err));
    if (error instanceof RunStopped) return { result: 'stopped', tally, error };
    metrics.run(source.name, 'failed');
    return { result: 'failed', tally, error };
  } finally {
    await lock?.release();
  }
}
