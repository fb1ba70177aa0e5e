/**
 * Scale-out on a Redis Cluster: the same worker processes and events with every queue in one
 * partition (one hash tag: one master does all the queue work) and with QUEUE_PARTITIONS=3 (one
 * partition per master). Reports events/s and how the Redis CPU spread over the masters.
 */
import { execFileSync } from 'node:child_process';
import { createKeys, createRedis, openQueues } from '@oncehook/shared';
import { type AppProcess, randomPrefix, sleep, spawnApp, startTestCluster } from '@oncehook/testing';
import { CONCURRENCY, demoEventJob, untilDone } from './worker.ts';

export interface PartitionRun {
  partitions: number;
  workers: number;
  events: number;
  'events/s': number;
  'busiest master, share of Redis CPU': string;
  failed: number;
}

const cpuOf = (port: number) => {
  const info = execFileSync('redis-cli', ['-p', String(port), 'INFO', 'cpu'], { encoding: 'utf8' });
  const field = (name: string) => Number(new RegExp(`${name}:([\\d.]+)`).exec(info)?.[1] ?? 0);
  return field('used_cpu_sys') + field('used_cpu_user');
};

export async function partitionRun(
  partitions: number,
  workers: number,
  events: number,
): Promise<PartitionRun> {
  const cluster = await startTestCluster(3);
  const config = {
    REDIS_URL: 'redis://127.0.0.1:6379',
    REDIS_CLUSTER_NODES: cluster.nodes.split(','),
    QUEUE_PREFIX: randomPrefix('pb'),
    QUEUE_PARTITIONS: partitions,
  };
  const redis = createRedis(config, 'patient', 'bench-partitions');
  const queues = openQueues(config, redis);
  const apps: AppProcess[] = [];
  try {
    const keys = createKeys(config.QUEUE_PREFIX);
    for (const pair of queues.current()) await pair.events.pause();
    for (let i = 0; i < events; i += 250) {
      const jobs = await Promise.all(
        Array.from({ length: Math.min(250, events - i) }, (_, j) =>
          demoEventJob(redis, keys, `evt_${i + j}`, partitions),
        ),
      );
      for (const pair of queues.current()) {
        const mine = jobs.filter((j) => queues.forEvent(j.tag).events === pair.events).map((j) => j.job);
        if (mine.length > 0) await pair.events.addBulk(mine);
      }
    }
    for (let w = 0; w < workers; w++) {
      apps.push(
        spawnApp('worker', {
          REDIS_CLUSTER_NODES: cluster.nodes,
          QUEUE_PREFIX: config.QUEUE_PREFIX,
          QUEUE_PARTITIONS: String(partitions),
          WORKER_CONCURRENCY: CONCURRENCY,
          COMPLETED_JOBS_KEPT: '10000000',
          LOG_LEVEL: 'error',
        }),
      );
    }
    await sleep(2000); // start-up (and the Redis checks) out of the measured time
    const cpuBefore = cluster.masters.map((m) => cpuOf(m.port));
    const started = performance.now();
    for (const pair of queues.current()) await pair.events.resume();
    const { failed } = await untilDone(
      queues.current().map((p) => p.events),
      events,
    );
    const seconds = (performance.now() - started) / 1000;
    const used = cluster.masters.map((m, i) => cpuOf(m.port) - (cpuBefore[i] ?? 0));
    const total = used.reduce((s, u) => s + u, 0);
    return {
      partitions,
      workers,
      events,
      'events/s': Math.round(events / seconds),
      'busiest master, share of Redis CPU': `${Math.round((100 * Math.max(...used)) / (total || 1))} %`,
      failed,
    };
  } finally {
    for (const app of apps) app.kill();
    await Promise.all(apps.map((a) => a.exited));
    await queues.close();
    redis.disconnect();
    cluster.stop();
  }
}
