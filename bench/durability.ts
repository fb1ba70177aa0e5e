/**
 * What a 200 survives, measured: N deliveries answered 200, then Redis is killed -9 and
 * restarted (one server, with and without AOF), and what it costs to wait for a replica before
 * answering (ACK_REPLICAS 0 and 1, one primary and one replica).
 */
import {
  inspect,
  pool,
  portRefuses,
  postJson,
  randomPrefix,
  startIngest,
  startTestRedis,
  waitFor,
} from '@oncehook/testing';
import { load } from './load.ts';

const body = (id: string) => ({ event_id: id, type: 'payment.succeeded', amount: 100, currency: 'USD' });

/** Deliveries answered 200, then Redis killed -9 and restarted: how many events it still knows. */
async function survivesRestart(args: string[], label: string, n: number) {
  const redis = await startTestRedis({ args });
  const prefix = randomPrefix('dur');
  const ingest = await startIngest({ REDIS_URL: redis.url, QUEUE_PREFIX: prefix, LOG_LEVEL: 'error' });
  try {
    const ids = Array.from({ length: n }, (_, i) => `evt_dur_${i}`);
    const answers = await pool(ids, 16, (id) => postJson(`${ingest.base}/webhook`, body(id)));
    const acked = answers.filter((a) => a.status === 200).length;
    redis.kill();
    await waitFor(() => portRefuses(redis.port), 10_000, 'redis-server gone');
    await redis.start();
    const view = inspect(redis.url, prefix);
    const kept = (await view.jobCount()) as number;
    await view.close();
    return {
      what: `one Redis, ${label}: ${acked} deliveries answered 200, Redis killed -9 and restarted`,
      result: `${kept} jobs left`,
    };
  } finally {
    ingest.kill();
    await ingest.exited;
    redis.stop();
  }
}

/** Throughput and p99 with ACK_REPLICAS 0 and 1 against one primary and one replica. */
async function waitCost(seconds: number) {
  const primary = await startTestRedis();
  const replica = await startTestRedis({ args: ['--replicaof', '127.0.0.1', String(primary.port)] });
  await waitFor(
    () => replica.cli('INFO', 'replication').includes('master_link_status:up'),
    10_000,
    'replica in sync',
  );
  const rows = [];
  try {
    for (const ack of [0, 1]) {
      const ingest = await startIngest({
        REDIS_URL: primary.url,
        QUEUE_PREFIX: randomPrefix(`ack${ack}`),
        LOG_LEVEL: 'error',
        ACK_REPLICAS: String(ack),
      });
      await load(`${ingest.base}/webhook`, { seconds: 1, prefix: `warm${ack}` });
      const r = await load(`${ingest.base}/webhook`, { seconds });
      rows.push({
        what: `ingest, ACK_REPLICAS=${ack} (1 replica)`,
        result: `${r['req/s']} req/s, p99 ${r.p99} ms, ${r.non2xx} non-2xx`,
      });
      ingest.kill();
      await ingest.exited;
    }
  } finally {
    replica.stop();
    primary.stop();
  }
  return rows;
}

export async function durabilityRun({ seconds, n }: { seconds: number; n: number }) {
  return [
    await survivesRestart([], 'no persistence', n),
    await survivesRestart(['--appendonly', 'yes', '--appendfsync', 'everysec'], 'AOF everysec', n),
    await survivesRestart(['--appendonly', 'yes', '--appendfsync', 'always'], 'AOF always', n),
    ...(await waitCost(seconds)),
  ];
}
