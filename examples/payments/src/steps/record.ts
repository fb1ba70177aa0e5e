import type { WorkerStepContext } from '../services/index.ts';

/** A step with no side effect but its marker: the event's summary, kept in GET /status. */
export function recordEvent<T extends Record<string, unknown>>(ctx: WorkerStepContext, summary: T): T {
  ctx.log.info({ summary }, 'recorded');
  return summary;
}
