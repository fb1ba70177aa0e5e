/**
 * The example's Redis keys, under the worker's QUEUE_PREFIX (oncehook's own are drawn in its
 * keys.ts). Each ledger shard's keys share a `{ledger-<n>}` tag, so that a step's writes to one
 * shard commit together even on a Redis Cluster; a subscription's mirror is its own tag.
 *
 *   {prefix}:demo:{ledger-<n>}         list    one shard of the ledger's entries (JSON)
 *   {prefix}:demo:{ledger-<n>}:totals  hash    currency -> sum of minor units
 *   {prefix}:demo:{ledger-<n>}:count   string  entries ever booked in the shard
 *   {prefix}:demo:{sub-<id>}           hash    the subscription mirror: status, periods, v, seen
 *   {prefix}:sim:{pay:<key>}[:found]   string  the payments simulator's idempotency records
 *   {prefix}:sim:emails:<key>          string  the mailer simulator's idempotency records
 */
export function demoKeys(prefix: string) {
  return {
    demoLedger: (shard: number) => `${prefix}:demo:{ledger-${shard}}`,
    demoLedgerTotals: (shard: number) => `${prefix}:demo:{ledger-${shard}}:totals`,
    demoLedgerCount: (shard: number) => `${prefix}:demo:{ledger-${shard}}:count`,
    demoSubscription: (id: string) => `${prefix}:demo:{sub-${Buffer.from(id).toString('base64url')}}`,
    simulatedPayment: (idempotencyKey: string) => `${prefix}:sim:{pay:${idempotencyKey}}`,
    simulatedPaymentByKey: (idempotencyKey: string) => `${prefix}:sim:{pay:${idempotencyKey}}:found`,
    simulatedEmail: (idempotencyKey: string) => `${prefix}:sim:emails:${idempotencyKey}`,
  } as const;
}

export type DemoKeys = ReturnType<typeof demoKeys>;
