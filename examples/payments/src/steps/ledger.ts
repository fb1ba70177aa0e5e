import { LEDGER_KEEP, ledgerShard } from '../ledger.ts';
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
 * Appends one entry to the demo ledger (the event's shard, trimmed to its last LEDGER_KEEP) and
 * adds it to the totals and the count. Every write goes through `ctx.writes`: they commit with the
 * step's marker, once, however many runs get here.
 */
export function appendToLedger(
  ctx: WorkerStepContext,
  entry: LedgerEntry,
  event: { source: string; eventId: string },
): LedgerResult {
  const { keys } = ctx.services;
  const currency = entry.currency.toUpperCase();
  const shard = ledgerShard(event.source, event.eventId);
  ctx.writes.rpush(
    keys.demoLedger(shard),
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
  ctx.writes.ltrim(keys.demoLedger(shard), -LEDGER_KEEP, -1);
  ctx.writes.hincrby(keys.demoLedgerTotals(shard), currency, entry.amount);
  ctx.writes.incrby(keys.demoLedgerCount(shard), 1);
  return { amount: entry.amount, currency };
}
