import type { Logger } from '@oncehook/shared';

/**
 * One log line per replay request, API or CLI, whatever it answered: a refused replay (the event
 * is unknown, not failed, raced, its job gone) leaves the same trace of who asked as one that ran.
 */
export interface ReplayAsked {
  /** The operator: the admin token's name, or `cli:<login>`. */
  by: string;
  via: 'api' | 'cli';
}

export function logReplay(
  log: Logger,
  asked: ReplayAsked & { source: string; eventId: string },
  outcome: string,
  state?: string,
) {
  log.info({ ...asked, outcome, ...(state ? { state } : {}) }, `replay of one event: ${outcome}`);
}

/** The skipped events named in the line, at most; the counts cover them all. */
const NAMED = 20;

export function logBulkReplay(
  log: Logger,
  asked: ReplayAsked & { query: Record<string, unknown> },
  answer:
    | { outcome: string }
    | { replayed: unknown[]; skipped: { source: string; eventId: string; reason: string }[]; more: boolean },
) {
  if ('outcome' in answer) {
    log.info({ ...asked, outcome: answer.outcome }, `bulk replay: ${answer.outcome}`);
    return;
  }
  const skippedBy: Record<string, number> = {};
  for (const s of answer.skipped) skippedBy[s.reason] = (skippedBy[s.reason] ?? 0) + 1;
  log.info(
    {
      ...asked,
      outcome: 'done',
      replayed: answer.replayed.length,
      skippedBy,
      skipped: answer.skipped.slice(0, NAMED),
      more: answer.more,
    },
    `bulk replay: ${answer.replayed.length} replayed, ${answer.skipped.length} skipped`,
  );
}
