/**
 * Every Redis key oncehook writes is built here, and nowhere else.
 *
 *   {prefix}:ev:{<tag>}                  hash   the event record (dedupe + status), TTL = dedupe window
 *   {prefix}:ev:{<tag>}:wf:<workflow>    hash   one workflow run of the event: state, attempts, steps, error
 *   {prefix}:ev:{<tag>}:steps:<workflow> hash   completion markers: step name -> JSON { result, at }
 *   {prefix}:sig:<source>:<sha256>       string signed-body hash -> tag, for replay detection (providers
 *                                               whose event id is not covered by the signature)
 *   {prefix}:demo:ledger                 list   the demo ledger's entries (JSON)
 *   {prefix}:demo:ledger:totals          hash   currency -> sum of minor units
 *   {prefix}:sim:payments:<key>          string the payments simulator's idempotency records
 *   {prefix}:sim:emails:<key>            string the mailer simulator's idempotency records
 *   {prefix}:readyz                      string written by /readyz to prove Redis takes writes
 *   bull:... under the BullMQ prefix     BullMQ's own keys (queue names in queues.ts)
 *
 * `<tag>` is the event's job id (see job-id.ts): an injective encoding of source + event id that
 * contains no `:`, `{` or `}`. Wrapping it in braces makes it a Redis Cluster hash tag, so an
 * event's record, workflow runs and markers live in one slot and can change in one MULTI.
 */
export function createKeys(prefix: string) {
  const event = (tag: string) => `${prefix}:ev:{${tag}}`;
  return {
    event,
    workflowRun: (tag: string, workflow: string) => `${event(tag)}:wf:${workflow}`,
    stepMarkers: (tag: string, workflow: string) => `${event(tag)}:steps:${workflow}`,
    signedBody: (source: string, sha256: string) => `${prefix}:sig:${source}:${sha256}`,
    demoLedger: `${prefix}:demo:ledger`,
    demoLedgerTotals: `${prefix}:demo:ledger:totals`,
    simulatedPayment: (idempotencyKey: string) => `${prefix}:sim:payments:${idempotencyKey}`,
    simulatedEmail: (idempotencyKey: string) => `${prefix}:sim:emails:${idempotencyKey}`,
    readyProbe: `${prefix}:readyz`,
  } as const;
}

export type Keys = ReturnType<typeof createKeys>;
