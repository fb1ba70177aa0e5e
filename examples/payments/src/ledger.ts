import { createHash } from 'node:crypto';
import type { RedisClient } from '@oncehook/worker';
import type { DemoKeys } from './keys.ts';

/**
 * The demo ledger, written by the demo workflows' `ledger` step and read by GET /demo/ledger.
 *
 * It is spread over LEDGER_SHARDS shards, each its own hash tag (`{ledger-<n>}`), chosen by the
 * event: on a Redis Cluster the writes and their commit records then land on every master instead
 * of one hot slot. Each shard keeps its last LEDGER_KEEP entries (older ones are trimmed; the
 * totals and the entry count keep counting them): a demo must not grow without bound.
 */
export const LEDGER_SHARDS = 16;
export const LEDGER_KEEP = 1000;

export function ledgerShard(source: string, eventId: string): number {
  return createHash('sha1').update(`${source}\n${eventId}`).digest().readUInt16BE(0) % LEDGER_SHARDS;
}

export interface DemoLedger {
  /** Every entry ever booked (including trimmed ones). */
  entries: number;
  /** Currency -> sum of minor units. */
  totals: Record<string, number>;
}

export async function readDemoLedger(redis: RedisClient, keys: DemoKeys): Promise<DemoLedger> {
  const shards = Array.from({ length: LEDGER_SHARDS }, (_, n) => n);
  const [counts, totals] = await Promise.all([
    Promise.all(shards.map((n) => redis.get(keys.demoLedgerCount(n)))),
    Promise.all(shards.map((n) => redis.hgetall(keys.demoLedgerTotals(n)))),
  ]);
  const sum: Record<string, number> = {};
  for (const shard of totals) {
    for (const [currency, v] of Object.entries(shard)) sum[currency] = (sum[currency] ?? 0) + Number(v);
  }
  return { entries: counts.reduce((a, c) => a + Number(c ?? 0), 0), totals: sum };
}

/** The entries still kept, every shard (tests and tools). */
export async function readDemoLedgerEntries(redis: RedisClient, keys: DemoKeys): Promise<string[]> {
  const shards = Array.from({ length: LEDGER_SHARDS }, (_, n) => n);
  return (await Promise.all(shards.map((n) => redis.lrange(keys.demoLedger(n), 0, -1)))).flat();
}
