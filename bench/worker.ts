/**
 * Worker benchmark: a private redis-server, the fake payments + mail APIs (through the Stripe SDK
 * and the HTTP mailer, as in production), a real ingest and real workers.
 *
 *   1. throughput: W workers up (W = 1, 2), then N events delivered as fast as the ingest takes
 *      them; time from the first delivery until the ledger holds all of them (ingest + dispatch +
 *      validate → charge → receipt → ledger);
 *   2. recovery: a worker killed -9 with events in flight, a fresh one started; time until every
 *      event completed (lock expiry + stalled check), and a check that nothing ran twice.
 *
 *   node --import tsx bench/worker.ts
 *   BENCH_EVENTS=5000 BENCH_CONCURRENCY=100 node --import tsx bench/worker.ts
 *
 * Everything shares the machine, so the numbers are a floor, not a capacity plan.
 */
import { pool, sleep, startSystem, waitFor } from '@oncehook/testing';

const EVENTS = Number(process.env.BENCH_EVENTS ?? 2000);
const CONCURRENCY = process.env.BENCH_CONCURRENCY ?? '50';

async function throughput(workers: number) {
  const sys = await startSystem({ workers, env: { WORKER_CONCURRENCY: CONCURRENCY } });
  try {
    // Warm-up: one event through the whole pipeline, so start-up is not counted.
    await sys.deliver('evt_warmup', 1000);
    await sys.waitFor(['evt_warmup'], ['completed'], 60_000);
    await sleep(2000); // a second worker may still be starting
    const ids = Array.from({ length: EVENTS }, (_, i) => `evt_bench_${i}`);
    const started = performance.now();
    await pool(ids, 32, (id) => sys.deliver(id, 1000));
    await waitFor(async () => (await sys.ledger()).entries === EVENTS + 1, 600_000, 'all events booked');
    const seconds = (performance.now() - started) / 1000;
    const exact = sys.apis.charges.size === EVENTS + 1 && sys.apis.emails.size === EVENTS + 1;
    return {
      workers,
      events: EVENTS,
      seconds: Number(seconds.toFixed(1)),
      'events/s': Math.round(EVENTS / seconds),
      exactlyOnce: exact,
    };
  } finally {
    await sys.stop();
  }
}

async function recovery() {
  const sys = await startSystem({ workers: 1, apis: { delayMs: 200 } });
  try {
    const ids = Array.from({ length: 100 }, (_, i) => `evt_recover_${i}`);
    await pool(ids, 32, (id) => sys.deliver(id, 500));
    await sleep(1500); // let the worker take jobs and start their (slow) API calls
    sys.workers[0]?.kill('SIGKILL');
    const killed = performance.now();
    sys.spawnWorker();
    const pending = await sys.waitFor(ids, ['completed'], 120_000);
    return {
      events: ids.length,
      'seconds from kill -9 to all completed': Number(((performance.now() - killed) / 1000).toFixed(1)),
      pending: pending.length,
      exactlyOnce:
        sys.apis.charges.size === ids.length &&
        sys.apis.emails.size === ids.length &&
        (await sys.ledger()).entries === ids.length,
    };
  } finally {
    await sys.stop();
  }
}

console.log('throughput', await throughput(1));
console.log('throughput', await throughput(2));
console.log('recovery', await recovery());
