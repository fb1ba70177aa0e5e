import { eventJobId, eventTag, openQueues, workflowJobId } from '@oncehook/shared';
import { fetchStatus, pool, sleep } from '@oncehook/testing';
import type { SentEvent } from './load.ts';
import type { Topology } from './topology.ts';

/** What GET /status said of an event: its HTTP status, and the answer when 200. */
export interface StatusView {
  code: number;
  state: string;
  status?: {
    state: string;
    waitingBehind?: string;
    error?: string;
    receivedAt: number;
    steps: { name: string; done: boolean; result?: unknown }[];
    workflows: {
      name: string;
      state: string;
      attempts: number;
      error?: string;
      steps: { name: string; done: boolean; result?: unknown }[];
    }[];
  };
}

const FINAL = new Set(['completed', 'failed', 'ignored', 'absent']);

export async function readStatus(bases: string[], ev: SentEvent): Promise<StatusView> {
  let last: StatusView = { code: 0, state: 'unreadable' };
  for (const base of bases) {
    try {
      const res = await fetchStatus(base, ev.source, ev.id);
      if (res.status === 404) return { code: 404, state: 'absent' };
      if (res.ok) {
        const status = (await res.json()) as NonNullable<StatusView['status']>;
        return { code: 200, state: status.state, status };
      }
      last = { code: res.status, state: `http ${res.status}` };
    } catch (err) {
      last = { code: 0, state: `unreadable (${(err as Error).message})` };
    }
  }
  return last;
}

/** Where the unfinished jobs were at the last count, by queue and state (for a report). */
export let lastCensus = '';

/** Jobs not finished (waiting, active, delayed, ...) over every partition's queues. */
async function unfinishedJobs(topology: Topology) {
  const queues = openQueues(
    { QUEUE_PREFIX: topology.prefix, QUEUE_PARTITIONS: Number(topology.env.QUEUE_PARTITIONS ?? 1) },
    topology.store.redis,
  );
  try {
    const counts = await Promise.all(
      queues
        .all()
        .map((q) => q.getJobCounts('waiting', 'active', 'delayed', 'prioritized', 'waiting-children')),
    );
    lastCensus = queues
      .all()
      .map((q, i) => {
        const c = Object.entries(counts[i] ?? {}).filter(([, n]) => n > 0);
        return c.length ? `${q.opts.prefix}:${q.name} ${c.map(([k, n]) => `${k} ${n}`).join(', ')}` : '';
      })
      .filter(Boolean)
      .join('; ');
    return counts.reduce((sum, c) => sum + Object.values(c).reduce((a, b) => a + b, 0), 0);
  } finally {
    await queues.close();
  }
}

const MAX_SCHEDULED_WAIT_MS = 5 * 60_000;

/** The latest next request a retrying destination run has scheduled (its error says when); 0 if none. */
function nextRequest(views: Map<string, StatusView>): number {
  let latest = 0;
  for (const view of views.values())
    for (const run of view.status?.workflows ?? []) {
      const at = run.state === 'retrying' ? /next request (\S+Z)/.exec(run.error ?? '')?.[1] : undefined;
      if (at) latest = Math.max(latest, Date.parse(at));
    }
  return latest;
}

/**
 * Waits until every event's state is final (completed, failed, ignored, or no record) and no job
 * is left to run, on two polls in a row; or until nothing has changed for `stillMs` (stuck), or
 * `timeoutMs` passed. Returns the last views and whether it got quiet.
 */
export async function waitQuiet(
  topology: Topology,
  events: SentEvent[],
  { timeoutMs = 180_000, stillMs = 45_000 } = {},
) {
  const deadline = Date.now() + timeoutMs;
  let views = new Map<string, StatusView>();
  let fingerprint = '';
  let changedAt = Date.now();
  let quietPolls = 0;
  let jobs = -1;
  for (;;) {
    const bases = topology.bases();
    const read = await pool(events, 16, async (ev) => [ev.id, await readStatus(bases, ev)] as const);
    views = new Map(read);
    jobs = await unfinishedJobs(topology).catch(() => -1);
    const now = [...views.values()].map((v) => v.state).join() + jobs;
    if (now !== fingerprint) {
      fingerprint = now;
      changedAt = Date.now();
    }
    const settled = [...views.values()].every((v) => FINAL.has(v.state)) && jobs === 0;
    quietPolls = settled ? quietPolls + 1 : 0;
    if (quietPolls >= 2) return { views, quiet: true, jobs };
    // A destination's retries back off (doubling, up to an hour): a request scheduled later is
    // not stuck. Waited for, within reason.
    const scheduled = Math.min(nextRequest(views), Date.now() + MAX_SCHEDULED_WAIT_MS) + 15_000;
    const givesUpAt = Math.min(Math.max(deadline, scheduled), Math.max(changedAt + stillMs, scheduled));
    if (Date.now() > givesUpAt) return { views, quiet: false, jobs };
    await sleep(1000);
  }
}

/**
 * For the report of an event that never finished: each of its jobs (the event's, and one per
 * workflow when fanned out), where it is and in what state.
 */
export async function explainJobs(topology: Topology, ev: SentEvent, view: StatusView): Promise<string> {
  const status = view.status;
  if (!status) return 'no status';
  const count = Number(topology.env.QUEUE_PARTITIONS ?? 1);
  const queues = openQueues({ QUEUE_PREFIX: topology.prefix, QUEUE_PARTITIONS: count }, topology.store.redis);
  try {
    const tag = eventTag(ev.source, ev.id);
    const pair = queues.forEvent(tag, count);
    const ids = [
      { label: 'event job', queue: pair.events, id: eventJobId(tag, status.receivedAt) },
      // One workflow runs in the event's job; several each in their own.
      ...(status.workflows.length > 1 ? status.workflows : []).map((wf) => ({
        label: `${wf.name} job`,
        queue: pair.workflows,
        id: workflowJobId(tag, status.receivedAt, wf.name),
      })),
    ];
    const found = await Promise.all(
      ids.map(async ({ label, queue, id }) => {
        const job = await queue.getJob(id);
        const state = job ? await job.getState() : 'none';
        const lock = await topology.store.redis.pttl(`${queue.toKey(id)}:lock`);
        const reason = job?.failedReason ? `, ${job.failedReason.slice(0, 80)}` : '';
        return `${label} (${pair.partition.label}) ${state}${lock > 0 ? `, locked ${lock} ms` : ''}${reason}`;
      }),
    );
    return found.join('; ');
  } catch (err) {
    return `jobs unreadable: ${(err as Error).message}`;
  } finally {
    await queues.close();
  }
}
