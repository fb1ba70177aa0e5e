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
  startTestRedis,
  type TestRedis,
} from '@oncehook/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

/*
 * Changing QUEUE_PARTITIONS on a running system, 1 -> 3: events retrying (the payments API is
 * down) and events waiting (no worker) in the one old partition when the system restarts with
 * three. Nothing is stranded in the old partition, nothing runs twice, re-deliveries of old
 * events stay duplicates.
 */
let redis: TestRedis;
let apis: FakeApis;
const apps: AppProcess[] = [];
const env = (partitions: number) => ({
  REDIS_URL: redis.url,
  PAYMENTS_URL: apis.url,
  MAILER_URL: apis.url,
  QUEUE_PREFIX: 'moving',
  QUEUE_PARTITIONS: String(partitions),
  MAX_ATTEMPTS: '100',
  BACKOFF_MS: '200',
});
const amount = (id: string) => 100 + Number(id.split('_').pop());

beforeAll(async () => {
  redis = await startTestRedis();
  apis = await startFakeApis();
});
afterAll(async () => {
  for (const app of apps) app.kill();
  await Promise.all(apps.map((a) => a.exited));
  redis?.stop();
  await apis?.close();
});

async function deliverAll(base: string, ids: string[]) {
  const answers = await pool(ids, 8, (id) => postJson(`${base}/webhook`, demoPayment(id, amount(id))));
  return answers.map((a) => a.json?.duplicate as boolean | undefined);
}

async function states(base: string, ids: string[]) {
  return pool(ids, 16, async (id) => {
    const res = await fetch(`${base}/status/${id}`, { headers: adminHeaders() });
    return res.ok ? ((await res.json()) as { state: string }).state : `http ${res.status}`;
  });
}

describe('QUEUE_PARTITIONS changed from 1 to 3 with events queued and retrying', () => {
  it('drains the old partition: every event completes, each effect once', async () => {
    const retrying = Array.from({ length: 30 }, (_, i) => `evt_retrying_${i}`);
    const waiting = Array.from({ length: 30 }, (_, i) => `evt_waiting_${i}`);
    const fresh = Array.from({ length: 30 }, (_, i) => `evt_fresh_${i}`);

    // One partition. The payments API is down: the first events fail and wait for their retries.
    apis.setDown(true, 'payments');
    const before = await startIngest(env(1));
    const oldWorker = spawnApp('worker', env(1));
    apps.push(before, oldWorker);
    expect(await deliverAll(before.base, retrying)).toEqual(retrying.map(() => false));
    // Every one has failed at least once: it is between its retries (the API is still down), or
    // in one. The deadline is generous: a loaded machine may be slow to start the worker.
    const inRetries = (s: string) => s === 'retrying' || s === 'processing';
    let now = await states(before.base, retrying);
    for (const deadline = Date.now() + 60_000; !now.every(inRetries) && Date.now() < deadline; ) {
      await sleep(100);
      now = await states(before.base, retrying);
    }
    expect(now.filter((s) => !inRetries(s))).toEqual([]);
    // The worker dies; more events arrive and wait.
    oldWorker.kill();
    expect(await deliverAll(before.base, waiting)).toEqual(waiting.map(() => false));
    before.kill('SIGTERM');
    await before.exited;

    // Restarted with three partitions; old events are re-delivered, new ones arrive.
    const after = await startIngest(env(3));
    // At info: their log says which partitions they drain.
    const drainer = { ...env(3), LOG_LEVEL: 'info' };
    apps.push(after, spawnApp('worker', drainer), spawnApp('worker', drainer));
    expect(await deliverAll(after.base, [...retrying, ...waiting])).toEqual(
      [...retrying, ...waiting].map(() => true),
    );
    expect(await deliverAll(after.base, fresh)).toEqual(fresh.map(() => false));
    apis.setDown(false, 'payments');

    const all = [...retrying, ...waiting, ...fresh];
    let pending = all;
    for (const deadline = Date.now() + 90_000; pending.length > 0 && Date.now() < deadline; ) {
      const now = await states(after.base, pending);
      pending = pending.filter((_, i) => now[i] !== 'completed');
      if (pending.length > 0) await sleep(250);
    }
    expect(pending).toEqual([]);
    expect(apis.charges.size).toBe(all.length);
    expect(apis.emails.size).toBe(all.length);
    const ledger = (await (await fetch(`${after.base}/demo/ledger`)).json()) as {
      entries: number;
      totals: Record<string, number>;
    };
    expect(ledger.entries).toBe(all.length);
    expect(ledger.totals.USD).toBe(all.reduce((s, id) => s + amount(id), 0));

    // The old partition was drained by the new workers, and it is empty now.
    expect(apps.map((a) => a.output()).join('')).toContain(
      'draining a partition of an earlier QUEUE_PARTITIONS',
    );
    expect(Number(redis.cli('LLEN', '{moving}:events:wait'))).toBe(0);
    expect(Number(redis.cli('ZCARD', '{moving}:events:delayed'))).toBe(0);
  });
});
