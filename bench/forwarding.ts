/**
 * Forwarding, against a bare BullMQ worker making the same `fetch` on the same jobs: N demo events
 * on a paused `events` queue, stored as the ingest stores them, each POSTed to a local HTTP server
 * (bench/baselines/bare-http.mjs: it reads the body and answers 200). oncehook forwards with
 * `oncehook-worker` and one destination; the clock runs until every job completed.
 */
import type { ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { bullPrefix } from '@oncehook/shared';
import {
  type AppProcess,
  destinationsEnv,
  randomPrefix,
  sleep,
  spawnApp,
  startTestRedis,
} from '@oncehook/testing';
import { Redis } from 'ioredis';
import { startBaseline } from './targets.ts';
import { CONCURRENCY, forkBaseline, preload, untilDone } from './worker.ts';

export interface ForwardingRun {
  target: string;
  events: number;
  'events/s': number;
  /** CPU per event, µs: the worker process's, and Redis's (the machine is shared: these hold better). */
  'worker CPU µs': number;
  'Redis CPU µs': number;
  failed: number;
}

/** CPU seconds a process has used (user + system), from /proc. */
function cpuSeconds(pid: number | undefined): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.split(' ') ?? [];
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

export async function forwardingRun(
  target: 'bare BullMQ + fetch' | 'oncehook forwarding',
  events: number,
): Promise<ForwardingRun> {
  const redis = await startTestRedis();
  const server = await startBaseline('bare-http');
  const prefix = randomPrefix('fb');
  const client = new Redis(redis.url, { maxRetriesPerRequest: null });
  let app: AppProcess | undefined;
  let baseline: ChildProcess | undefined;
  try {
    const queue = await preload(client, prefix, events);
    if (target === 'oncehook forwarding') {
      app = spawnApp('forwarder', {
        REDIS_URL: redis.url,
        QUEUE_PREFIX: prefix,
        WORKER_CONCURRENCY: CONCURRENCY,
        LOG_LEVEL: 'error',
        ...destinationsEnv([{ name: 'receiver', url: server.url }]),
      });
    } else {
      baseline = await forkBaseline([
        redis.url,
        bullPrefix({ QUEUE_PREFIX: prefix }),
        `forward:${server.url}`,
        CONCURRENCY,
      ]);
    }
    await sleep(1500); // start-up (and the Redis checks) out of the measured time
    const pid = app?.child.pid ?? baseline?.pid;
    const redisCpu = async () =>
      [...(await client.info('cpu')).matchAll(/used_cpu_(user|sys):([\d.]+)/g)].reduce(
        (n, m) => n + Number(m[2]),
        0,
      );
    const [cpu0, redis0] = [cpuSeconds(pid), await redisCpu()];
    const started = performance.now();
    await queue.resume();
    const { failed } = await untilDone([queue], events);
    const seconds = (performance.now() - started) / 1000;
    const perEvent = (s: number) => Math.round((s * 1e6) / events);
    const cpu = {
      'worker CPU µs': perEvent(cpuSeconds(pid) - cpu0),
      'Redis CPU µs': perEvent((await redisCpu()) - redis0),
    };
    await queue.close();
    return { target, events, 'events/s': Math.round(events / seconds), ...cpu, failed };
  } finally {
    app?.kill();
    baseline?.kill('SIGKILL');
    await app?.exited;
    client.disconnect();
    await server.stop();
    redis.stop();
  }
}
