import { type DeadLetterQuery, listDeadLetters } from './dead-letters.ts';
import { type ReplayDeps, type ReplayResult, replayEvent } from './replay-event.ts';

/** The most events one bulk replay takes on: a bound on the work (and the load) it starts. */
export const BULK_REPLAY_MAX = 1000;
export const BULK_REPLAY_DEFAULT = 100;

export interface BulkReplayReport {
  /** The events run again. */
  replayed: Extract<ReplayResult, { kind: 'replayed' }>[];
  /** The dead letters left alone, and why (record expired, raced, job gone, ...). */
  skipped: { source: string; eventId: string; reason: string }[];
  /** True when more dead letters matched than `limit`: run it again for the next ones. */
  more: boolean;
}

/**
 * Replays the failed events matching the query, newest first, at most `limit` of them. The list
 * is read first and replayed after: replaying moves jobs out of the failed set being read.
 */
export async function replayFailed(
  deps: ReplayDeps,
  query: DeadLetterQuery & { limit: number },
  by: string,
): Promise<BulkReplayReport> {
  const events = new Map<string, { source: string; eventId: string; reason?: string | undefined }>();
  let more = false;
  for (let cursor: number | null = 0; cursor !== null; ) {
    const page = await listDeadLetters(deps, { ...query, cursor, limit: 200 });
    for (const dead of page.events) {
      const key = `${dead.source}\n${dead.eventId}`;
      if (events.has(key)) continue;
      if (events.size === query.limit) {
        more = true;
        break;
      }
      events.set(key, dead);
    }
    cursor = more ? null : page.nextCursor;
  }
  const report: BulkReplayReport = { replayed: [], skipped: [], more };
  for (const { source, eventId, reason } of events.values()) {
    // A permanent error is replayed by its id, once its cause is fixed: in bulk it would fail again.
    if (reason) {
      report.skipped.push({ source, eventId, reason });
      continue;
    }
    const result = await replayEvent(deps, source, eventId, by);
    if (result.kind === 'replayed') report.replayed.push(result);
    else
      report.skipped.push({ source, eventId, reason: result.kind === 'noop' ? result.state : result.kind });
  }
  deps.log.info(
    { by, ...query, replayed: report.replayed.length, skipped: report.skipped.length, more },
    'bulk replay by an operator',
  );
  return report;
}
