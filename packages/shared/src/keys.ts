import { slotTag } from './replicas.ts';

/**
 * Every Redis key oncehook writes is built here, and nowhere else.
 *
 *   {prefix}:ev:{<tag>}              hash    the event: record, status, every run and marker (below)
 *   {prefix}:sig:<source>:<sha256>   string  sha256(type, body) -> tag: finds copies (providers.md) for providers
 *                                            whose event id is not covered by the signature
 *   {prefix}:commit:{<slot>}:<tag>:<gen>:<workflow>:<step>
 *                                    string  on a Redis Cluster only: a step's commit record (its
 *                                            result), in the slot of the step's own writes (<slot>:
 *                                            `slotTag`, a tag that hashes there), per generation
 *   {prefix}:lane:{<lane>}           hash    one ordering lane (lanes.ts in the worker): holder, pending,
 *                                            r:<member> (its job: id, queue, partition),
 *                                            d:<member> (a waiting job's data, to add it again if removed)
 *   {prefix}:lane:{<lane>}:q         zset    the lane's waiting events, scored by provider time
 *   {prefix}:dest:{<name>}:inflight  zset    a destination's requests in flight: token -> lease end (ms)
 *   {prefix}:dest:{<name>}:started   zset    its requests started in the last second: token -> start (ms)
 *   {prefix}:dest:{<name>}:waiting   zset    events waiting for their delivery to it: '<received> <tag>'
 *                                            -> counted until (ms: a minute past its next request)
 *   {prefix}:readyz                  string  written by /readyz to prove Redis takes writes
 *   {prefix}:layouts                 set     every QUEUE_PARTITIONS ever used (partitions.ts)
 *   {<prefix>}:... / {<prefix>:p<i>of<n>:<salt>}:...  BullMQ's own keys, one prefix per queue partition
 *                                    (partitions.ts; queue names in queues.ts)
 *   {prefix}:reconcile:{<source>}:lock  string  the token of the reconciler working on <source> now
 *   {prefix}:reconcile:{<source>}:feed:<feed>
 *                                    hash    one provider list's checkpoint and the run in progress
 *                                            (apps/reconciler/src/checkpoint.ts)
 *
 * The event hash (`ev:{<tag>}`), fields by writer (EVENT_FIELDS names them):
 *   ingest   type bodyHash receivedAt deliveries conflicts replays (copies: re-sent signed bodies;
 *            /status `copies`), q (QUEUE_PARTITIONS when not 1), reruns (an operator's replays:
 *            event-replay.ts; /status `replays`)
 *   worker   state error workflows ('a,b')        the event, aggregated over its runs
 *            s:<wf> a:<wf> e:<wf> p:<wf>           one per workflow run: state, attempts, error,
 *                                                  steps ('a,b,c')
 *            m:<wf>:<step>        the step's completion marker: its result (JSON)
 *            t:<wf>:<step>        when the step was first attempted (ms; dropped once the run completed)
 *            n:<wf>               the failure the alert was sent for ('<reruns>.<attempt>')
 *            w                    parked in its ordering lane, behind '<workflow> <key>' (until START);
 *                                 the record has no expiry meanwhile: it waits as long as the lane
 *            h:<wf>               a destination's requests that did not deliver: the last 20, a JSON
 *                                 line each (the one that delivered is the step's marker)
 *            r:<wf>               its retry window: '<reruns> <first failed (ms)> <failed requests>'
 * One key per event: its record, runs and markers live and expire together, and change in one
 * script. `receivedAt` (the first delivery's time) is also the record's generation: a job carries
 * it, and never touches a record of another generation (a newer delivery after this one expired).
 * Source and event id are not stored: the tag in the key holds them (parseTag). Fields are short and
 * values kept under 64 bytes where they can be: Redis then keeps a completed event in a compact
 * listpack of about 500 bytes.
 *
 * `<tag>` is the event's tag (event-tag.ts): an injective encoding of source + event id that
 * contains no `:`, `{` or `}`. Wrapped in braces it is a Redis Cluster hash tag, so the event's
 * keys share one slot.
 *
 * `<lane>` is a lane's tag (shared `laneTag`): source + workflow + ordering key, encoded like an
 * event's. A lane's two keys share it; they never share a slot with an event, so no script touches
 * both.
 *
 * A source's reconciler keys share its `{<source>}` tag, so that every checkpoint write checks, in
 * the same script, that the writer still holds the lock.
 *
 * A step's commit record carries a tag of the slot of the keys that step writes, so that it lands
 * there and commits with them. An application's own keys (what its steps write) go under the same
 * prefix, by its own layout.
 */
export function createKeys(prefix: string) {
  const event = (tag: string) => `${prefix}:ev:{${tag}}`;
  return {
    /** QUEUE_PREFIX: what an application's own keys go under too. */
    prefix,
    event,
    signedBody: (source: string, sha256: string) => `${prefix}:sig:${source}:${sha256}`,
    stepCommit: (writesSlot: number, tag: string, gen: number, workflow: string, step: string) =>
      `${prefix}:commit:{${slotTag(writesSlot)}}:${tag}:${gen.toString(36)}:${workflow}:${step}`,
    lane: (laneTag: string) => `${prefix}:lane:{${laneTag}}`,
    laneWaiting: (laneTag: string) => `${prefix}:lane:{${laneTag}}:q`,
    destination: (name: string) => ({
      inFlight: `${prefix}:dest:{${name}}:inflight`,
      started: `${prefix}:dest:{${name}}:started`,
      waiting: `${prefix}:dest:{${name}}:waiting`,
    }),
    readyProbe: `${prefix}:readyz`,
    queueLayouts: `${prefix}:layouts`,
    reconcileLock: (source: string) => `${prefix}:reconcile:{${source}}:lock`,
    reconcileFeed: (source: string, feed: string) => `${prefix}:reconcile:{${source}}:feed:${feed}`,
  } as const;
}

export type Keys = ReturnType<typeof createKeys>;

/** The event hash's field names (see the layout above). Workflow and step names never contain `:`. */
export const EVENT_FIELDS = {
  runState: (workflow: string) => `s:${workflow}`,
  runAttempts: (workflow: string) => `a:${workflow}`,
  runError: (workflow: string) => `e:${workflow}`,
  runSteps: (workflow: string) => `p:${workflow}`,
  marker: (workflow: string, step: string) => `m:${workflow}:${step}`,
  started: (workflow: string, step: string) => `t:${workflow}:${step}`,
  alerted: (workflow: string) => `n:${workflow}`,
  requests: (workflow: string) => `h:${workflow}`,
  retryWindow: (workflow: string) => `r:${workflow}`,
  reruns: 'reruns',
  waitingBehind: 'w',
} as const;
