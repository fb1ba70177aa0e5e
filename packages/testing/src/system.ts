import { fetchStatus } from './admin.ts';
import { type FakeApiOptions, startFakeApis } from './fake-apis.ts';
import { sleep } from './net.ts';
import { randomPrefix } from './prefix.ts';
import { type AppProcess, pool, postJson, spawnApp, startIngest } from './processes.ts';
import { startTestRedis } from './redis-server.ts';

/** The example ledger's shards (examples/payments/src/ledger.ts). */
const LEDGER_SHARDS = 16;

export const demoPayment = (eventId: string, amount: number, currency = 'USD') => ({
  event_id: eventId,
  type: 'payment.succeeded',
  amount,
  currency,
  customer: `cus_${eventId}`,
});

/**
 * The whole system as separate processes: a private redis-server, the fake payments + mail APIs,
 * one ingest and `workers` workers, all on a fresh QUEUE_PREFIX. `stop()` takes it all down.
 */
export async function startSystem({
  workers = 2,
  env = {},
  apis: apiOptions = {},
}: {
  workers?: number;
  env?: Record<string, string>;
  apis?: FakeApiOptions;
} = {}) {
  const redis = await startTestRedis();
  const apis = await startFakeApis(apiOptions);
  const common = {
    REDIS_URL: redis.url,
    PAYMENTS_URL: apis.url,
    MAILER_URL: apis.url,
    QUEUE_PREFIX: randomPrefix('w'),
    BACKOFF_MS: '50',
    LOG_LEVEL: 'warn',
    ...env,
  };
  const ingest = await startIngest(common);
  const running: AppProcess[] = [];
  const spawnWorker = () => {
    const worker = spawnApp('worker', common);
    running.push(worker);
    return worker;
  };
  for (let i = 0; i < workers; i++) spawnWorker();

  const base = ingest.base;
  return {
    redis,
    apis,
    ingest,
    base,
    prefix: common.QUEUE_PREFIX,
    /** Every worker started so far, killed or not. */
    workers: running,
    spawnWorker,
    deliver: (eventId: string, amount: number) => postJson(`${base}/webhook`, demoPayment(eventId, amount)),
    async status(eventId: string) {
      const res = await fetchStatus(base, 'demo', eventId);
      return res.ok
        ? ((await res.json()) as { state: string; deliveries: number; attempts: number; replays: number })
        : null;
    },
    /** Polls GET /status until every event is in one of `states`; returns those that never were. */
    async waitFor(ids: string[], states = ['completed'], timeoutMs = 90_000) {
      const pending = new Set(ids);
      const last = new Map<string, string>();
      const deadline = Date.now() + timeoutMs;
      while (pending.size > 0 && Date.now() < deadline) {
        await pool([...pending], 32, async (id) => {
          const state = (await this.status(id).catch(() => null))?.state ?? 'unknown';
          last.set(id, state);
          if (states.includes(state)) pending.delete(id);
        });
        if (pending.size > 0) await sleep(200);
      }
      return [...pending].map((id) => `${id}: ${last.get(id)}`);
    },
    async ledger() {
      const res = await fetch(`${base}/demo/ledger`);
      return (await res.json()) as { entries: number; totals: Record<string, number> };
    },
    /** Every ledger entry, read straight from Redis (the example's layout: its keys.ts). */
    ledgerEntries(): { eventId: string; amount: number }[] {
      return Array.from({ length: LEDGER_SHARDS }, (_, n) =>
        redis.cli('LRANGE', `${common.QUEUE_PREFIX}:demo:{ledger-${n}}`, '0', '-1'),
      )
        .filter(Boolean)
        .flatMap((raw) => raw.split('\n').map((line) => JSON.parse(line)));
    },
    output: () => running.map((w) => w.output()).join(''),
    async stop() {
      for (const worker of running) worker.kill();
      ingest.kill();
      await Promise.all([...running.map((w) => w.exited), ingest.exited]);
      redis.stop();
      await apis.close();
    },
  };
}

export type System = Awaited<ReturnType<typeof startSystem>>;
