/**
 * Redis going away under a running ingest: how fast a delivery is refused (503) once Redis is
 * killed, and once it hangs (SIGSTOP: the client's command timeout decides); how long /readyz
 * and the first delivery take to come back, without restarting the ingest.
 */
import {
  pool,
  portRefuses,
  postJson,
  randomPrefix,
  sleep,
  startIngest,
  startTestRedis,
  waitFor,
} from '@oncehook/testing';

const body = (id: string) => ({ event_id: id, type: 'payment.succeeded', amount: 4999, currency: 'USD' });
const ms = (v: number) => `${v.toFixed(0)} ms`;

function percentiles(values: number[]) {
  const sorted = [...values].sort((a, b) => a - b);
  const at = (p: number) => sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? 0;
  return { p50: at(50), p99: at(99) };
}

const readyz = async (base: string) =>
  (await fetch(`${base}/readyz`, { signal: AbortSignal.timeout(10_000) }).catch(() => null))?.status ?? 0;

async function timeUntilReadyz(base: string, status: number) {
  const started = performance.now();
  await waitFor(async () => (await readyz(base)) === status, 30_000, `/readyz ${status}`);
  return performance.now() - started;
}

async function refusals(base: string, tag: string, n: number) {
  const answers = await pool(
    Array.from({ length: n }, (_, i) => i),
    16,
    (i) => postJson(`${base}/webhook`, body(`${tag}-${i}`)),
  );
  if (answers.some((a) => a.status !== 503)) throw new Error('expected only 503 while Redis is down');
  return percentiles(answers.map((a) => a.ms));
}

export async function outageRun(n = 200) {
  const redis = await startTestRedis();
  const ingest = await startIngest({
    REDIS_URL: redis.url,
    QUEUE_PREFIX: randomPrefix('out'),
    LOG_LEVEL: 'error',
  });
  try {
    redis.kill();
    await waitFor(() => portRefuses(redis.port), 10_000, 'redis-server gone');
    const killed = await refusals(ingest.base, 'killed', n);
    await redis.start();
    const back = await timeUntilReadyz(ingest.base, 200);

    const pid = Number(/process_id:(\d+)/.exec(redis.cli('INFO', 'server'))?.[1]);
    process.kill(pid, 'SIGSTOP');
    let hung: ReturnType<typeof percentiles>;
    try {
      hung = await refusals(ingest.base, 'hung', 10);
    } finally {
      process.kill(pid, 'SIGCONT');
    }
    await sleep(100);
    return [
      { what: 'Redis killed (SIGKILL): time to 503', result: `p50 ${ms(killed.p50)}, p99 ${ms(killed.p99)}` },
      { what: 'Redis back: /readyz 200 after', result: ms(back) },
      { what: 'Redis hung (SIGSTOP): time to 503', result: `p50 ${ms(hung.p50)}, p99 ${ms(hung.p99)}` },
    ];
  } finally {
    ingest.kill();
    await ingest.exited;
    redis.stop();
  }
}
