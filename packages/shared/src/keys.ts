/**
 * Every Redis key oncehook writes is built here, and nowhere else.
 *
 *   {prefix}:ev:{<tag>}                  hash   the event record (dedupe + status), TTL = dedupe window
 *   {prefix}:ev:{<tag>}:wf:<workflow>    hash   one workflow run of the event: state, attempts, steps, error
 *   {prefix}:ev:{<tag>}:steps:<workflow> hash   completion markers: step name -> JSON { result, at }
 *   {prefix}:sig:<source>:<sha256>       string signed-body hash -> tag, for replay detection (providers
 *                                               whose event id is not covered by the signature)
 *   {prefix}:demo:{ledger}               list   the demo ledger's entries (JSON)
 *   {prefix}:demo:{ledger}:totals        hash   currency -> sum of minor units
 *   {prefix}:commit:{<wtag>}:<tag>:<workflow>:<step>
 *                                        string a step's commit record (its result), beside the step's
 *                                               own writes (hash tag <wtag>), TTL = dedupe window
 *   {prefix}:sim:payments:<key>          string the payments simulator's idempotency records (24 h)
 *   {prefix}:sim:payments-by-key:<key>   string the simulator's payments, found by metadata (30 days)
 *   {prefix}:sim:emails:<key>            string the mailer simulator's idempotency records
 *   {prefix}:readyz                      string written by /readyz to prove Redis takes writes
 *   bull:... under the BullMQ prefix     BullMQ's own keys (queue names in queues.ts)
 *
 * `<tag>` is the event's job id (see job-id.ts): an injective encoding of source + event id that
 * contains no `:`, `{` or `}`. Wrapping it in braces makes it a Redis Cluster hash tag, so an
 * event's record, workflow runs and markers live in one slot and can change in one MULTI.
 *
 * The demo ledger's two keys share the `{ledger}` tag so that one script can append an entry and
 * add it to the totals even on a Redis Cluster; a step's commit record carries the tag of the keys
 * that step writes, so that it lands in their slot and commits with them.
 */
export function createKeys(prefix: string) {
  const event = (tag: string) => `${prefix}:ev:{${tag}}`;
  return {
    event,
    workflowRun: (tag: string, workflow: string) => `${event(tag)}:wf:${workflow}`,
    stepMarkers: (tag: string, workflow: string) => `${event(tag)}:steps:${workflow}`,
    signedBody: (source: string, sha256: string) => `${prefix}:sig:${source}:${sha256}`,
    stepCommit: (writesTag: string, tag: string, workflow: string, step: string) =>
      `${prefix}:commit:{${writesTag}}:${tag}:${workflow}:${step}`,
    demoLedger: `${prefix}:demo:{ledger}`,
    demoLedgerTotals: `${prefix}:demo:{ledger}:totals`,
    simulatedPayment: (idempotencyKey: string) => `${prefix}:sim:payments:${idempotencyKey}`,
    simulatedPaymentByKey: (idempotencyKey: string) => `${prefix}:sim:payments-by-key:${idempotencyKey}`,
    simulatedEmail: (idempotencyKey: string) => `${prefix}:sim:emails:${idempotencyKey}`,
    readyProbe: `${prefix}:readyz`,
  } as const;
}

export type Keys = ReturnType<typeof createKeys>;
