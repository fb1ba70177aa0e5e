import {
  type AppProcess,
  demoPayment,
  type FakeApis,
  pool,
  postJson,
  spawnApp,
  startFakeApis,
  startIngest,
  startTestCluster,
} from '@oncehook/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

// On a Redis Cluster the event's keys, the ledger's keys and BullMQ's keys live in different slots:
// every script and MULTI must stay within one. Each event delivered twice, the APIs failing each
// key's first call, the first charge attempt crashing: still one effect each.
const N = 60;
let cluster: Awaited<ReturnType<typeof startTestCluster>>;
let apis: FakeApis;
let apps: AppProcess[] = [];
let base = '';

beforeAll(async () => {
  cluster = await startTestCluster();
  apis = await startFakeApis({ failFirst: true });
  const env = {
    REDIS_CLUSTER_NODES: cluster.nodes,
    PAYMENTS_URL: apis.url,
    MAILER_URL: apis.url,
    QUEUE_PREFIX: 'cluster',
    BACKOFF_MS: '50',
    SIMULATE_CRASH: 'charge',
  };
  const ingest = await startIngest(env);
  base = ingest.base;
  apps = [ingest, spawnApp('worker', env), spawnApp('worker', env)];
});
afterAll(async () => {
  for (const app of apps) app.kill();
  await Promise.all(apps.map((a) => a.exited));
  cluster?.stop();
  await apis?.close();
});

describe('on a Redis Cluster', () => {
  it('runs the payment workflow with every effect exactly once', async () => {
    const ids = Array.from({ length: N }, (_, i) => `evt_cluster_${i}`);
    const sends = ids.flatMap((id, i) => [id, id].map(() => ({ id, amount: 500 + i })));
    const answers = await pool(sends, 16, ({ id, amount }) =>
      postJson(`${base}/webhook`, demoPayment(id, amount)),
    );
    expect(answers.filter((a) => a.status !== 200)).toEqual([]);

    const deadline = Date.now() + 60_000;
    let pending = ids;
    while (pending.length > 0 && Date.now() < deadline) {
      const states = await pool(pending, 16, async (id) => {
        const res = await fetch(`${base}/status/${id}`);
        return res.ok ? ((await res.json()) as { state: string }).state : 'unknown';
      });
      pending = pending.filter((_, i) => states[i] !== 'completed');
      if (pending.length > 0) await new Promise((r) => setTimeout(r, 250));
    }
    expect(pending).toEqual([]);

    expect(apis.charges.size).toBe(N);
    expect(apis.emails.size).toBe(N);
    const ledger = await (await fetch(`${base}/demo/ledger`)).json();
    expect(ledger).toEqual({ entries: N, totals: { USD: ids.reduce((s, _, i) => s + 500 + i, 0) } });
  });
});
