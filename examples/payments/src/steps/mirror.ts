/**
 * The stale-event guard of a workflow that mirrors an object's state. It keeps, with the state,
 * the provider time of the newest event it applied; an event is then newer (apply it), stale (an
 * older event arriving late: skip it, so it never undoes a newer one) or a tie (same time: the
 * provider's clock cannot order the two, so ask the provider for the object as it is now).
 *
 * The read of the applied version and the write of the new one are not one atomic step: they are
 * safe because an ordered workflow's runs for one object never overlap (lanes.ts).
 */
export type Freshness = 'newer' | 'tie' | 'stale';

export function freshness(version: number, applied: number | null): Freshness {
  if (applied === null || version > applied) return 'newer';
  return version === applied ? 'tie' : 'stale';
}

/** The result a skipped event records: `/status` shows it as the step's result. */
export const staleResult = (version: number, applied: number) =>
  ({ skipped: 'stale', version, applied }) as const;
