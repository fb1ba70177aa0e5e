/**
 * Ingest benchmark: a private redis-server and a real ingest process (started as
 * `pnpm start:ingest` starts it), then
 *
 *   1. throughput and ACK latency for a mix of new events and re-deliveries, with bounded
 *      concurrency, checked for exactly-once afterwards (one job per event);
 *   2. how fast a delivery is refused (503) once Redis is killed, and how long /readyz takes to
 *      say so; then how long the ingest takes to recover after Redis restarts;
 *   3. the same for a Redis that hangs (SIGSTOP), where the client's command timeout decides.
 *
 *   pnpm bench                      # 5,000 deliveries, 30% of them re-deliveries, 32 in flight
 *   BENCH_DELIVERIES=20000 BENCH_CONCURRENCY=64 BENCH_DUPLICATE_RATIO=0.5 pnpm bench
 *
 * Client, ingest and Redis share the machine, so the numbers are a floor, not a capacity plan.
 */
import {
  inspect,
  pool,
  portRefuses,
  postJson,
  randomPrefix,
  sleep,
  startIngest,
  startTestRedis,
  type TestRedis,
  waitFor,
} from '@oncehook/testing';

const DELIVERIES = Number(process.env.BENCH_DELIVERIES ?? 5000);
const CONCURRENCY = Number(process.env.BENCH_CONCURRENCY ?? 32);
const DUPLICATE_RATIO = Number(process.env.BENCH_DUPLICATE_RATIO ?? 0.3);
const OUTAGE_DELIVERIES = 200;

const body = (id: string) => ({ event_id: id, type: 'payment.succeeded', amount: 4999, currency: 'USD' });

function percentiles(ms: number[]) {
  const sorted = [...ms].sort((a, b) => a - b);
  const at = (p: number) => sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? 0;
  const f = (v: number) => `${v.toFixed(1)} ms`;
  return { p50: f(at(50)), p95: f(at(95)), p99: f(at(99)), max: f(sorted.at(-1) ?? 0) };
}

const readyzStatus = async (base: string) =>
  (await fetch(`${base}/readyz`, { signal: AbortSignal.timeout(10_000) }).catch(() => null))?.status ?? 0;

/** Time from "now" until /readyz answers `status`, polling every 10 ms. */
async function timeUntilReadyz(base: string, status: number, timeoutMs = 30_000) {
  const started = performance.now();
  await waitFor(async () => (await readyzStatus(base)) === status, timeoutMs, `/readyz ${status}`);
  return performance.now() - started;
}

async function refusalWhileDown(base: string, tag: string) {
  const answers = await pool(
    Array.from({ length: OUTAGE_DELIVERIES }, (_, i) => i),
    16,
    (i) => postJson(`${base}/webhook`, body(`${tag}-${i}`)),
  );
  const statuses = [...new Set(answers.map((a) => a.status))];
  if (statuses.length !== 1 || statuses[0] !== 503) {
    throw new Error(`expected only 503 while Redis is down, got ${statuses.join(',')}`);
  }
  return percentiles(answers.map((a) => a.ms));
}

async function main() {
  const redis: TestRedis = await startTestRedis();
  const prefix = randomPrefix('bench');
  const ingest = await startIngest({ REDIS_URL: redis.url, QUEUE_PREFIX: prefix });
  const view = inspect(redis.url, prefix);
  const results: Record<string, unknown> = {};

  try {
    // Warm up (JIT, connection pools, BullMQ's script cache) on events outside the measured set.
    await pool(
      Array.from({ length: 300 }, (_, i) => i),
      CONCURRENCY,
      (i) => postJson(`${ingest.base}/webhook`, body(`warmup-${i}`)),
    );

    const unique = Math.max(1, Math.round(DELIVERIES * (1 - DUPLICATE_RATIO)));
    // Every event once, then re-deliveries of random earlier ones, interleaved with the rest.
    const ids = Array.from({ length: DELIVERIES }, (_, n) =>
      n < unique ? n : Math.floor(Math.random() * unique),
    );
    for (let i = ids.length - 1; i > unique; i--) {
      const j = unique + Math.floor(Math.random() * (i - unique + 1));
      [ids[i], ids[j]] = [ids[j] as number, ids[i] as number];
    }
    const started = performance.now();
    const answers = await pool(ids, CONCURRENCY, (i) => postJson(`${ingest.base}/webhook`, body(`evt-${i}`)));
    const seconds = (performance.now() - started) / 1000;

    const bad = answers.filter((a) => a.status !== 200);
    const fresh = answers.filter((a) => a.json?.duplicate === false);
    const dup = answers.filter((a) => a.json?.duplicate === true);
    const jobs = (await view.jobCount()) - 300;
    results.load = {
      deliveries: DELIVERIES,
      concurrency: CONCURRENCY,
      events: unique,
      'throughput (deliveries/s)': Math.round(DELIVERIES / seconds),
      'ACK latency, all': percentiles(answers.map((a) => a.ms)),
      'ACK latency, new events': percentiles(fresh.map((a) => a.ms)),
      'ACK latency, re-deliveries': percentiles(dup.map((a) => a.ms)),
      'non-200 answers': bad.length,
      'exactly once':
        jobs === unique && fresh.length === unique ? 'yes' : `NO: ${jobs} jobs, ${fresh.length} new`,
    };

    // Redis killed: SIGKILL, wait until the port refuses, then measure.
    redis.kill();
    await waitFor(() => portRefuses(redis.port), 10_000, 'redis-server gone');
    const readyz503AfterKill = await timeUntilReadyz(ingest.base, 503);
    const killed = await refusalWhileDown(ingest.base, 'killed');
    await redis.start();
    const recovery = await timeUntilReadyz(ingest.base, 200);
    const afterRestart = await postJson(`${ingest.base}/webhook`, body('after-restart'));
    results['Redis killed (SIGKILL)'] = {
      'time to 503, per delivery': killed,
      '/readyz 503 after': `${readyz503AfterKill.toFixed(1)} ms`,
      '/readyz 200 after restart': `${recovery.toFixed(0)} ms`,
      'first delivery after restart': `${afterRestart.status} in ${afterRestart.ms.toFixed(1)} ms`,
    };

    // Redis hung: connected, answering nothing; the command timeout decides.
    const pid = Number(/process_id:(\d+)/.exec(redis.cli('INFO', 'server'))?.[1]);
    process.kill(pid, 'SIGSTOP');
    let hung: ReturnType<typeof percentiles>;
    try {
      hung = await refusalWhileDown(ingest.base, 'hung');
    } finally {
      process.kill(pid, 'SIGCONT');
    }
    await sleep(100);
    const hungRecovery = await timeUntilReadyz(ingest.base, 200);
    results['Redis hung (SIGSTOP)'] = {
      'time to 503, per delivery': hung,
      '/readyz 200 after SIGCONT': `${hungRecovery.toFixed(0)} ms`,
    };
  } finally {
    ingest.kill();
    await ingest.exited;
    await view.close();
    redis.stop();
  }

  console.log(JSON.stringify(results, null, 2));
}

await main();
