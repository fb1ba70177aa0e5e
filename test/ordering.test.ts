import { SIGNERS } from '@oncehook/ingest/sign';
import {
  type AppProcess,
  adminHeaders,
  type FakeApis,
  pool,
  postJson,
  randomPrefix,
  sleep,
  spawnApp,
  startFakeApis,
  startIngest,
  startTestCluster,
  startTestRedis,
} from '@oncehook/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

/*
 * Per-object ordering end to end: Stripe subscription events, 5 per subscription (created, updated
 * ×3, deleted), shuffled, each delivered 1–3 times over two ingests, run by three workers while
 * the payments API is slow enough that runs overlap. The subscription mirror must end at each
 * subscription's last version, count every event exactly once, and never have two runs of one
 * subscription at once: the fake API counts its requests in flight per subscription.
 */
const SUBSCRIPTIONS = 50;
const SECRET = 'whsec_ordering';
let redis: Awaited<ReturnType<typeof startTestRedis>> | undefined;
let cluster: Awaited<ReturnType<typeof startTestCluster>> | undefined;
let apis: FakeApis;
let ingests: Awaited<ReturnType<typeof startIngest>>[] = [];
let workers: AppProcess[] = [];
let env: Record<string, string> = {};

/** Two ingests and three workers on one Redis, or on a 3-master Redis Cluster. */
async function boot(on: 'one Redis' | 'a Redis Cluster') {
  let store: Record<string, string>;
  if (on === 'one Redis') {
    redis = await startTestRedis();
    store = { REDIS_URL: redis.url, QUEUE_PARTITIONS: '2' };
  } else {
    cluster = await startTestCluster(3);
    store = { REDIS_CLUSTER_NODES: cluster.nodes, QUEUE_PARTITIONS: '3' };
  }
  apis = await startFakeApis();
  apis.setDelay(100);
  env = {
    ...store,
    PAYMENTS_URL: apis.url,
    MAILER_URL: apis.url,
    QUEUE_PREFIX: randomPrefix('ord'),
    STRIPE_WEBHOOK_SECRET: SECRET,
    WORKER_CONCURRENCY: '8',
    BACKOFF_MS: '50',
  };
  ingests = await Promise.all([startIngest(env), startIngest(env)]);
  workers = [0, 1, 2].map(() => spawnApp('worker', env));
}

async function shutdown() {
  const all = [...ingests, ...workers];
  for (const app of all) app.kill();
  await Promise.all(all.map((a) => a.exited));
  redis?.stop();
  cluster?.stop();
  redis = undefined;
  cluster = undefined;
  await apis?.close();
}

const T0 = Math.floor(Date.now() / 1000) - 3600;
const FINAL = (sub: string, i: number) => ({
  id: sub,
  status: 'canceled',
  current_period_end: T0 + 30 * 86_400 + i,
  cancel_at: T0 + 2,
});

/**
 * One subscription's life. `created` is in seconds, as Stripe's: the updates tie (the mirror asks
 * the API which is current), and the last update ties with the deletion.
 */
function lifecycle(sub: string, i: number) {
  const period = T0 + 30 * 86_400 + i;
  const steps: [string, number, Record<string, unknown>][] = [
    ['created', T0, { status: 'incomplete', current_period_end: period, cancel_at: null }],
    ['updated', T0 + 1, { status: 'active', current_period_end: period, cancel_at: null }],
    ['updated', T0 + 1, { status: 'past_due', current_period_end: period, cancel_at: null }],
    ['updated', T0 + 2, { status: 'active', current_period_end: period, cancel_at: T0 + 2 }],
    ['deleted', T0 + 2, { status: 'canceled', current_period_end: period, cancel_at: T0 + 2 }],
  ];
  return steps.map(([what, created, state], n) => ({
    id: `evt_${sub}_${n}`,
    body: JSON.stringify({
      id: `evt_${sub}_${n}`,
      object: 'event',
      api_version: '2024-06-20',
      created,
      livemode: false,
      type: `customer.subscription.${what}`,
      data: { object: { id: sub, object: 'subscription', ...state } },
    }),
  }));
}

interface Storm {
  subs: string[];
  events: { id: string; body: string; copies: number }[];
}

function storm(label: string): Storm {
  const subs = Array.from({ length: SUBSCRIPTIONS }, (_, i) => `sub_${label}_${i}`);
  for (const [i, sub] of subs.entries()) apis.subscriptions.set(sub, FINAL(sub, i));
  const events = subs.flatMap((sub, i) =>
    lifecycle(sub, i).map((e, n) => ({ ...e, copies: 1 + ((i * 5 + n) % 3) })),
  );
  return { subs, events };
}

/**
 * Every copy of every event, shuffled, over both ingests; each retried until 200, as Stripe does.
 * Shuffled within batches of a few subscriptions, so that the events of one arrive close together
 * (as a burst of changes to one object does) and would run at once if nothing ordered them.
 */
async function deliver({ events }: Storm, onAck: () => void = () => {}) {
  const batch = 5 * 5;
  const copies = Array.from({ length: Math.ceil(events.length / batch) }, (_, b) =>
    shuffle(
      events
        .slice(b * batch, (b + 1) * batch)
        .flatMap((e) => Array.from({ length: e.copies }, (_, c) => ({ ...e, c }))),
    ),
  ).flat();
  await pool(copies, 12, async (e, i) => {
    const base = ingests[i % ingests.length]?.base;
    for (let attempt = 0; attempt < 100; attempt++) {
      const headers = await SIGNERS.stripe({ body: e.body, secret: SECRET, id: '', nowMs: Date.now() });
      const res = await postJson(`${base}/webhooks/stripe`, e.body, headers);
      if (res.status === 200) return void onAck();
      await sleep(100);
    }
    throw new Error(`${e.id} never answered 200`);
  });
}

async function statusOf(id: string) {
  const res = await fetch(`${ingests[0]?.base}/status/stripe/${id}`, { headers: adminHeaders() });
  return res.ok
    ? ((await res.json()) as {
        state: string;
        deliveries: number;
        steps: { name: string; result?: unknown }[];
      })
    : null;
}

async function untilCompleted(ids: string[], timeoutMs: number) {
  let pending = ids;
  const deadline = Date.now() + timeoutMs;
  while (pending.length > 0 && Date.now() < deadline) {
    const states = await pool(pending, 16, async (id) => (await statusOf(id))?.state);
    pending = pending.filter((_, i) => states[i] !== 'completed');
    if (pending.length > 0) await sleep(300);
  }
  return pending;
}

async function expectOrdered({ subs, events }: Storm) {
  expect(
    await untilCompleted(
      events.map((e) => e.id),
      180_000,
    ),
  ).toEqual([]);
  // Never two runs of one subscription at once.
  expect(apis.concurrency.overlapping).toBe(0);
  expect(Math.max(...subs.map((s) => apis.concurrency.maxPerObject.get(s) ?? 0))).toBe(1);
  // Each mirror at its subscription's last version, every event counted once.
  const mirrors = await pool(subs, 16, async (sub) =>
    (await fetch(`${ingests[1]?.base}/demo/subscriptions/${sub}`)).json(),
  );
  subs.forEach((sub, i) => {
    const { current_period_end, cancel_at } = FINAL(sub, i);
    expect(mirrors[i]).toMatchObject({
      id: sub,
      status: 'canceled',
      current_period_end,
      cancel_at,
      version: (T0 + 2) * 1000,
      seen: 5,
    });
  });
  // Every delivery counted on its event, and each event run once: one `apply` result each.
  const statuses = await pool(events, 16, (e) => statusOf(e.id));
  for (const [i, e] of events.entries()) expect(statuses[i]?.deliveries).toBe(e.copies);
  const results = statuses.map((s) => s?.steps.find((step) => step.name === 'apply')?.result);
  expect(results.every((r) => r !== undefined)).toBe(true);
  const stale = results.filter((r) => (r as { skipped?: string }).skipped === 'stale').length;
  const fetched = results.filter((r) => (r as { applied?: string }).applied === 'fetched').length;
  return { stale, fetched };
}

describe('subscription events about one object, shuffled and re-delivered over 2 ingests and 3 workers', () => {
  beforeAll(() => boot('one Redis'));
  afterAll(shutdown);

  it('run one at a time per subscription, and every mirror ends at its last version', async () => {
    const s = storm('a');
    await deliver(s);
    const { stale, fetched } = await expectOrdered(s);
    console.log(`ordering: ${s.events.length} events, ${stale} skipped as stale, ${fetched} ties fetched`);
    expect(fetched).toBeGreaterThan(0);
    expect(stale).toBeGreaterThan(0);
  });

  it('keeps that through workers killed -9 mid-run: a lane waits for the recovered run', async () => {
    const s = storm('k');
    let acked = 0;
    const delivering = deliver(s, () => acked++);
    // A quarter, half and three quarters in, with runs in flight, a worker dies; a replacement starts.
    const copies = s.events.reduce((n, e) => n + e.copies, 0);
    for (const share of [0.25, 0.5, 0.75]) {
      while (acked < copies * share) await sleep(20);
      const victim = workers.find((w) => w.child.exitCode === null && w.child.signalCode === null);
      victim?.kill('SIGKILL');
      await victim?.exited;
      workers.push(spawnApp('worker', env));
    }
    await delivering;
    await expectOrdered(s);
    const recovered = workers
      .map((w) => w.output())
      .join('')
      .split('\n')
      .filter((l) => l.includes('stalled job')).length;
    console.log(`ordering kill -9: ${recovered} stalled jobs recovered`);
    // The kill hit runs in flight: their jobs came back through stalled-job recovery.
    expect(recovered).toBeGreaterThan(0);
  });
});

describe('the same on a 3-master Redis Cluster, QUEUE_PARTITIONS=3', () => {
  beforeAll(() => boot('a Redis Cluster'));
  afterAll(shutdown);

  it('runs one at a time per subscription, and leaves no lane behind', async () => {
    const s = storm('c');
    await deliver(s);
    await expectOrdered(s);
    // Every lane emptied and deleted once its events ran, on whichever master it lived.
    expect(cluster?.masters.flatMap((m) => m.keys(`${env.QUEUE_PREFIX}:lane:*`))).toEqual([]);
  });
});

function shuffle<T>(items: T[]): T[] {
  for (let i = items.length - 1; i > 0; i--) {
    const j = Math.floor(Math.random() * (i + 1));
    [items[i], items[j]] = [items[j] as T, items[i] as T];
  }
  return items;
}
