import type { RunOutcome } from './run.ts';

/** One line per source and run: what `npm run reconcile` prints, and what the service logs. */
export function describeOutcome(source: string, outcome: RunOutcome): string {
  if (outcome.result === 'locked') return `${source}: another reconciler is running it; nothing done`;
  const t = outcome.tally;
  const counts = [
    `found ${t.found}`,
    `already seen ${t.alreadySeen}`,
    `recovered ${t.recovered}`,
    ...(t.failed ? [`failed ${t.failed}`] : []),
    ...(t.rateLimitWaits ? [`rate limited ${t.rateLimitWaits}x`] : []),
  ].join(', ');
  if (outcome.result === 'failed')
    return `${source}: run failed (${outcome.error?.message}) after ${counts}; the next run resumes from the checkpoint`;
  if (outcome.result === 'stopped') return `${source}: stopped after ${counts}`;
  const checkpoints = Object.entries(t.checkpoints)
    .map(([feed, s]) => `${feed} ${new Date(s * 1000).toISOString()}`)
    .join(', ');
  return `${source}: ${counts}; checkpoint ${checkpoints}`;
}

/** 0: every run completed; 75 (EX_TEMPFAIL): another reconciler held a lock; 1: a run failed. */
export function exitCodeOf(outcomes: RunOutcome[]): number {
  if (outcomes.some((o) => o.result === 'failed' || o.result === 'stopped')) return 1;
  if (outcomes.some((o) => o.result === 'locked')) return 75;
  return 0;
}
