import {
  type AppProcess,
  adminHeaders,
  demoPayment,
  type FakeApis,
  pool,
  postJson,
  sleep,
  spawnApp,
  startFakeApis,
  startIngest,
  startTestCluster,
  waitFor,
} from '@oncehook/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

/*
 * Scale-out on a 3-master Redis Cluster: QUEUE_PARTITIONS=3 (one partition per master), two
 * ingests sharing the deliveries, two workers. The event's keys, the ledger's and each partition's
 * BullMQ keys live in different slots: every script and MULTI must stay within one. Each event is
 * delivered twice, spread over both ingests, the APIs fail each key's first call, the first charge
 * attempt crashes; mid-storm a worker is killed -9 and a master hangs (SIGSTOP) for 3 s. Clients
 * retry until 200, as providers do. Still one effect each.
 */
const N = 150;
let cluster: Awaited<ReturnType<typeof startTestCluster>>;
let apis: FakeApis;
let ingests: Awaited<ReturnType<typeof startIngest>>[] = [];
let workers: AppProcess[] = [];
let env: Record<string, string> = {};

beforeAll(async () => {
  cluster = await startTestCluster();
  apis = await startFakeApis({ failFirst: true });
  env = {
    REDIS_CLUSTER_NODES: cluster.nodes,
    PAYMENTS_URL: apis.url,
    MAILER_URL: apis.url,
    QUEUE_PREFIX: 'cluster',
    QUEUE_PARTITIONS: '3',
    BACKOFF_MS: '50',
    SIMULATE_CRASH: 'charge',
  };
  ingests = await Promise.all([startIngest(env), startIngest(env)]);
  workers = [spawnApp('worker', env), spawnApp('worker', env)];
});
afterAll(async () => {
  const all = [...ingests, ...workers];
  for (const app of all) app.kill();
  await Promise.all(all.map((a) => a.exited));
  cluster?.stop();
  await apis?.close();
});

describe('on a Redis Cluster with QUEUE_PARTITIONS=3, 2 ingests and 2 workers', () => {
  it('spreads the queues over the masters and runs every effect exactly once through a worker kill -9 and a hung master', async () => {
    const ids = Array.from({ length: N }, (_, i) => `evt_cluster_${i}`);
    const amount = (i: number) => 500 + i;
    let acked = 0;
    const deliverUntilAcked = async (id: string, i: number, copy: number) => {
      // The copies of one event go to different ingests, as a provider's retries hit any instance.
      const base = ingests[(i + copy) % ingests.length]?.base;
      for (let attempt = 0; attempt < 300; attempt++) {
        const res = await postJson(`${base}/webhook`, demoPayment(id, amount(i)));
        if (res.status === 200) return void acked++;
        await sleep(100);
      }
      throw new Error(`${id} never answered 200`);
    };
    const storm = pool(
      ids.flatMap((id, i) => [0, 1].map((copy) => ({ id, i, copy }))),
      16,
      ({ id, i, copy }) => deliverUntilAcked(id, i, copy),
    );

    // A third in: one worker dies mid-run; then a master hangs for 3 s and comes back.
    await waitFor(() => acked >= (2 * N) / 3, 60_000, 'a third of the storm delivered');
    workers[0]?.kill();
    const master = cluster.masters[1];
    master?.pause();
    await sleep(3000);
    master?.resume();
    await storm;
    // A replacement for the killed worker, as an orchestrator would start.
    workers.push(spawnApp('worker', env));

    const base = ingests[0]?.base;
    const deadline = Date.now() + 90_000;
    let pending = ids;
    while (pending.length > 0 && Date.now() < deadline) {
      const states = await pool(pending, 16, async (id) => {
        const res = await fetch(`${base}/status/${id}`, { headers: adminHeaders() });
        return res.ok ? ((await res.json()) as { state: string }).state : `http ${res.status}`;
      });
      pending = pending.filter((_, i) => states[i] !== 'completed');
      if (pending.length > 0) await sleep(250);
    }
    expect(pending).toEqual([]);

    // Exactly once: one charge and one receipt per event (the APIs count idempotency keys).
    expect(apis.charges.size).toBe(N);
    expect(apis.emails.size).toBe(N);
    const ledger = await (await fetch(`${base}/demo/ledger`)).json();
    expect(ledger).toEqual({ entries: N, totals: { USD: ids.reduce((s, _, i) => s + amount(i), 0) } });

    // The three partitions' BullMQ keys sit on the three masters, none where one queue sat before.
    const holding = cluster.masters.filter((m) => m.keys('{cluster:p*').length > 0);
    expect(holding.length).toBe(3);
    expect(cluster.masters.every((m) => m.keys('{cluster}:*').length === 0)).toBe(true);
  });
});
