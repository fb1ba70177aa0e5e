import { SIGNERS } from '@oncehook/ingest/sign';
import {
  checkoutEvent,
  type FakeStripeEvent,
  fetchStatus,
  freePort,
  type Inspector,
  inspect,
  postJson,
  type System,
  spawnApp,
  startSystem,
  startTcpProxy,
  type TcpProxy,
  waitFor,
} from '@oncehook/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

/**
 * `npm run reconcile` and `npm run start:reconciler` for Stripe, end to end: a real ingest, worker and
 * reconciler (separate processes, a private redis-server), and a fake Stripe whose events list
 * (pages of 5) also serves as the worker's payments API. Each recovered checkout.session.completed
 * must send one receipt and book one ledger entry; an event the ingest did receive, none more.
 */
const SECRET = 'whsec_e2e_reconcile';
const NOW = Math.floor(Date.now() / 1000);
// An hour old and a minute apart: a run from the checkpoint (5 minutes' overlap) lists none again.
const events = (first: number, n: number) =>
  Array.from({ length: n }, (_, i) => checkoutEvent(first + i, NOW - 3600 - i * 60));

let sys: System;
let inspector: Inspector;
const reconcilerEnv = (extra: Record<string, string> = {}) => ({
  REDIS_URL: sys.redis.url,
  QUEUE_PREFIX: sys.prefix,
  PAYMENTS_URL: sys.apis.url,
  PAYMENTS_API_KEY: 'sk_test_e2e',
  RECONCILER_METRICS_PORT: '0',
  ...extra,
});
const reconcile = async (args: string[], env: Record<string, string> = {}) => {
  const proc = spawnApp('reconciler', reconcilerEnv(env), ['--once', '--source', 'stripe', ...args]);
  const { code } = await proc.exited;
  return { code, output: proc.output() };
};
const status = async (id: string) => {
  const res = await fetchStatus(sys.base, 'stripe', id);
  return res.ok ? ((await res.json()) as { state: string; deliveries: number; conflicts: number }) : null;
};
const allCompleted = (list: FakeStripeEvent[]) =>
  waitFor(
    async () => (await Promise.all(list.map((e) => status(e.id)))).every((s) => s?.state === 'completed'),
    120_000,
    'every event completed',
  );
const ledgerIds = () => sys.ledgerEntries().map((e) => e.eventId);

async function deliver(event: FakeStripeEvent) {
  const body = JSON.stringify(event, null, 2);
  const headers = await SIGNERS.stripe({ body, secret: SECRET, id: '', nowMs: Date.now() });
  expect((await postJson(`${sys.base}/webhooks/stripe`, body, headers)).status).toBe(200);
}

describe('pnpm reconcile --source stripe --since 72h', () => {
  const EVENTS = events(0, 12);
  const DELIVERED = EVENTS.filter((_, i) => i % 3 === 0); // 4 of 12, spread over the pages

  beforeAll(async () => {
    sys = await startSystem({ workers: 1, env: { STRIPE_WEBHOOK_SECRET: SECRET } });
    sys.apis.stripeEvents.settings.pageSize = 5;
    for (const event of EVENTS) sys.apis.stripeEvents.add(event);
  });
  afterAll(async () => {
    await sys?.stop();
  });

  it('recovers the events never delivered, once; the delivered ones are duplicates; a second run finds nothing new', async () => {
    for (const event of DELIVERED) await deliver(event);
    await allCompleted(DELIVERED);
    sys.apis.stripeEvents.rateLimit(1, 1); // the first list call: 429, Retry-After: 1

    const first = await reconcile(['--since', '72h']);
    expect(first.code, first.output).toBe(0);
    expect(first.output).toContain('stripe: found 12, already seen 4, recovered 8, rate limited 1x');
    // One warning per recovered event: each is a delivery that was lost.
    expect(first.output.match(/recovered an event the ingest never received/g)).toHaveLength(8);

    await allCompleted(EVENTS);
    for (const event of EVENTS) {
      expect(await status(event.id)).toMatchObject({
        deliveries: DELIVERED.includes(event) ? 2 : 1,
        conflicts: 0,
      });
    }
    // Each event once: one receipt, one ledger entry.
    expect(sys.apis.emails.size).toBe(12);
    expect([...sys.apis.emails.values()].every((e) => e.hits === 1)).toBe(true);
    expect(ledgerIds().sort()).toEqual(EVENTS.map((e) => e.id).sort());

    const second = await reconcile([]);
    expect(second.code, second.output).toBe(0);
    expect(second.output).toContain('stripe: found 0, already seen 0, recovered 0');
    const again = await reconcile(['--since', '72h']);
    expect(again.output).toContain('stripe: found 12, already seen 12, recovered 0');
    await new Promise((r) => setTimeout(r, 1000)); // time for a wrongly enqueued job to run
    expect(sys.apis.emails.size).toBe(12);
    expect(sys.ledgerEntries()).toHaveLength(12);
  });
});

describe('pnpm start:reconciler', () => {
  const EVENTS = events(100, 15);
  let proxy: TcpProxy;

  beforeAll(async () => {
    sys = await startSystem({ workers: 1, env: { STRIPE_WEBHOOK_SECRET: SECRET } });
    inspector = inspect(sys.redis.url, sys.prefix);
    // The reconciler's Redis 60 ms away each way: a page of 5 takes over a second to feed in.
    proxy = await startTcpProxy({ port: sys.redis.port }, { latencyMs: 60 });
    sys.apis.stripeEvents.settings.pageSize = 5;
    for (const event of EVENTS) sys.apis.stripeEvents.add(event);
  });
  afterAll(async () => {
    await inspector?.close();
    await proxy?.close();
    await sys?.stop();
  });

  const feed = () => inspector.redis.hgetall(inspector.keys.reconcileFeed('stripe', 'events'));

  it('killed -9 mid-page and restarted: every event exactly once, nothing skipped', async () => {
    const service = { RECONCILE_INTERVAL: '1s', RECONCILE_LOCK_SECONDS: '2' };
    const first = spawnApp('reconciler', reconcilerEnv({ ...service, REDIS_URL: proxy.url }));
    // Seven events in: two into the second page.
    await waitFor(
      async () => (await inspector.jobCount()) >= 7,
      60_000,
      `7 events fed in\n${first.output()}`,
    );
    first.kill('SIGKILL');
    await first.exited;

    // The run's progress is the first page, the last one wholly fed in; no checkpoint yet.
    const cut = await feed();
    expect(cut.checkpoint).toBeUndefined();
    expect(Number(cut.upTo)).toBe(EVENTS[4]?.created);
    const fedBeforeKill = await inspector.jobCount();
    expect(fedBeforeKill).toBeGreaterThanOrEqual(7);
    expect(fedBeforeKill).toBeLessThan(10);

    const port = await freePort();
    const second = spawnApp(
      'reconciler',
      reconcilerEnv({ ...service, RECONCILER_METRICS_PORT: String(port) }),
    );
    try {
      // Once the dead one's lock expired: the interrupted run is resumed and committed.
      await waitFor(async () => (await feed()).checkpoint && !(await feed()).upTo, 60_000, 'the checkpoint');
      await allCompleted(EVENTS);
      const jobs = await Promise.all(EVENTS.map((e) => inspector.job(e.id, 'stripe')));
      expect(jobs.every(Boolean)).toBe(true);
      expect(await inspector.jobCount()).toBe(15);
      expect(sys.apis.emails.size).toBe(15);
      expect(sys.ledgerEntries()).toHaveLength(15);
      // Resumed after the first page: its first four events were not fed again.
      const deliveries = await Promise.all(EVENTS.map(async (e) => (await status(e.id))?.deliveries));
      expect(deliveries.slice(0, 4)).toEqual([1, 1, 1, 1]);
      expect(deliveries.slice(10)).toEqual([1, 1, 1, 1, 1]);

      const metrics = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
      expect(metrics).toMatch(/oncehook_reconcile_runs_total\{source="stripe",result="completed"\} [1-9]/);
      expect(metrics).toMatch(/oncehook_reconcile_found_total\{source="stripe"\} \d+/);
      const recovered = Number(
        /oncehook_reconcile_recovered_total\{source="stripe"\} (\d+)/.exec(metrics)?.[1],
      );
      expect(recovered).toBe(15 - fedBeforeKill);
    } finally {
      second.kill('SIGTERM');
      expect((await second.exited).code).toBe(0);
    }
  });

  it('two reconcilers at once: one runs, the other says so and does nothing', async () => {
    const release = sys.apis.stripeEvents.hold();
    const calls = sys.apis.stripeEvents.calls.length;
    const a = spawnApp('reconciler', reconcilerEnv(), ['--once', '--since', '72h']);
    await waitFor(() => inspector.redis.exists(inspector.keys.reconcileLock('stripe')), 30_000, 'the lock');
    const b = spawnApp('reconciler', reconcilerEnv(), ['--once', '--since', '72h']);
    const bExit = await b.exited;
    release();
    const aExit = await a.exited;
    expect(bExit.code, b.output()).toBe(75);
    expect(b.output()).toContain('stripe: another reconciler is running it; nothing done');
    expect(aExit.code, a.output()).toBe(0);
    expect(a.output()).toContain('stripe: found 15, already seen 15, recovered 0');
    expect(sys.apis.stripeEvents.calls.length - calls).toBe(3); // one run's three pages
  });
});
