import type { WorkerStepContext } from '../services/index.ts';

export interface LedgerEntry {
  /** Minor units. */
  amount: number;
  currency: string;
  /** What the entry is for, e.g. the payment or checkout session id. */
  reference: string;
}

export interface LedgerResult {
  amount: number;
  currency: string;
}

/**
 * Appends one entry to the demo ledger and adds it to the totals. Both writes go through
 * `ctx.writes`: they commit with the step's marker, once, however many runs get here.
 */
export function appendToLedger(
  ctx: WorkerStepContext,
  entry: LedgerEntry,
  event: { source: string; eventId: string },
): LedgerResult {
  const { keys } = ctx.services;
  const currency = entry.currency.toUpperCase();
  ctx.writes.rpush(
    keys.demoLedger,
    // What a ledger needs, and no more: never the event's payload (customer data, unbounded size).
    JSON.stringify({
      source: event.source,
      eventId: event.eventId,
      reference: entry.reference,
      amount: entry.amount,
      currency,
      at: Date.now(),
    }),
  );
  ctx.writes.hincrby(keys.demoLedgerTotals, currency, entry.amount);
  return { amount: entry.amount, currency };
}
