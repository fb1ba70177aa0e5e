/**
 * What one event costs Redis: CPU per delivery at the ingest and per event at the worker (INFO
 * cpu), and bytes kept per completed event once its jobs are gone (MEMORY USAGE of its record),
 * and per completed job while it is kept.
 */
import { bullPrefix, createKeys, eventTag, QUEUES } from '@oncehook/shared';
import { pool, postJson, spawnApp, startIngest, startTestRedis, waitFor } from '@oncehook/testing';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';

const PREFIX = 'oncehook'; // the default QUEUE_PREFIX: key names are part of what is stored

export async function costRun(events: number) {
  const redis = await startTestRedis();
  const client = new Redis(redis.url);
  const cpu = async () =>
    [...(await client.info('cpu')).matchAll(/used_cpu_(user|sys):([\d.]+)/g)].reduce(
      (a, m) => a + Number(m[2]),
      0,
    );
  // Every completed job kept, so that the run can count them.
  const ingest = await startIngest({
    REDIS_URL: redis.url,
    QUEUE_PREFIX: PREFIX,
    LOG_LEVEL: 'error',
    COMPLETED_JOBS_KEPT: '10000000',
  });
  const queue = new Queue(QUEUES.events, {
    connection: client,
    prefix: bullPrefix({ QUEUE_PREFIX: PREFIX }),
  });
  try {
    const ids = Array.from({ length: events }, (_, i) => `evt_cost_${i}`);
    const body = (id: string) => ({
      event_id: id,
      type: 'payment.succeeded',
      amount: 4999,
      currency: 'USD',
      customer: `cus_${id}`,
    });
    let before = await cpu();
    await pool(ids, 16, (id) => postJson(`${ingest.base}/webhook`, body(id)));
    const perDelivery = ((await cpu()) - before) / events;
    before = await cpu();
    await pool(ids, 16, (id) => postJson(`${ingest.base}/webhook`, body(id)));
    const perPendingDuplicate = ((await cpu()) - before) / events;

    const worker = spawnApp('worker', { REDIS_URL: redis.url, QUEUE_PREFIX: PREFIX, LOG_LEVEL: 'error' });
    before = await cpu();
    await waitFor(async () => (await queue.getCompletedCount()) >= events, 600_000, 'every event completed');
    const perEvent = ((await cpu()) - before) / events;
    before = await cpu();
    await pool(ids, 16, (id) => postJson(`${ingest.base}/webhook`, body(id)));
    const perDuplicate = ((await cpu()) - before) / events;
    worker.kill();
    await worker.exited;

    const keys = createKeys(PREFIX);
    const jobIds = (await queue.getCompleted(0, 9)).map((j) => j.id ?? '');
    const jobBytes = await Promise.all(
      jobIds.map((id) =>
        client.memory('USAGE', `${bullPrefix({ QUEUE_PREFIX: PREFIX })}:${QUEUES.events}:${id}`),
      ),
    );
    const recordBytes = await Promise.all(
      ids.slice(0, 100).map((id) => client.memory('USAGE', keys.event(eventTag('demo', id)))),
    );
    const avg = (xs: (number | null)[]) =>
      Math.round(xs.reduce<number>((a, b) => a + (b ?? 0), 0) / xs.length);
    const us = (s: number) => `${Math.round(s * 1e6)} µs`;
    return [
      { what: 'Redis CPU per new delivery (ingest)', result: us(perDelivery) },
      { what: 'Redis CPU per re-delivery before a worker has the event', result: us(perPendingDuplicate) },
      { what: 'Redis CPU per re-delivery after', result: us(perDuplicate) },
      { what: 'Redis CPU per event (worker, demo payment, simulators)', result: us(perEvent) },
      {
        what: 'bytes kept per completed event, once its jobs are gone (record + markers)',
        result: `${avg(recordBytes)} B`,
      },
      {
        what: 'bytes per completed job, while kept (1 h; at most 1,000 per queue)',
        result: `${avg(jobBytes)} B`,
      },
    ];
  } finally {
    await queue.close();
    ingest.kill();
    await ingest.exited;
    client.disconnect();
    redis.stop();
  }
}
