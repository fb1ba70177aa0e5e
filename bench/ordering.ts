/**
 * The cost of per-object ordering: Stripe `customer.subscription.updated` events through the
 * built-in subscription mirror (simulators: no API), with and without an ordering key, over 1 and
 * 1,000 distinct subscriptions. Without a key the mirror's runs go at once (no lane, no extra
 * round trip); with one, a key's runs go one at a time, each handing the lane to the next.
 */
import { bullPrefix, createKeys, QUEUES } from '@oncehook/shared';
import { type AppProcess, randomPrefix, sleep, spawnApp, startTestRedis } from '@oncehook/testing';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { demoKeys } from '../examples/payments/src/keys.ts';
import { CONCURRENCY, env, storedEventJob } from './worker.ts';

export interface OrderingRun {
  'ordering key': 'none' | 'subscription id';
  subscriptions: number;
  events: number;
  'events/s': number;
  failed: number;
}

const T0 = 1_750_000_000;

export async function orderingRun(
  keyed: boolean,
  subscriptions: number,
  events: number,
): Promise<OrderingRun> {
  const redis = await startTestRedis();
  const prefix = randomPrefix('ob');
  const client = new Redis(redis.url, { maxRetriesPerRequest: null });
  const keys = createKeys(prefix);
  const queue = new Queue(QUEUES.events, {
    connection: client,
    prefix: bullPrefix({ QUEUE_PREFIX: prefix }),
  });
  let app: AppProcess | undefined;
  try {
    await queue.pause();
    const one = async (i: number) => {
      const sub = `sub_${i % subscriptions}`;
      const eventId = `evt_${i}`;
      const payload = JSON.stringify({
        id: eventId,
        object: 'event',
        type: 'customer.subscription.updated',
        created: T0 + i,
        data: { object: { id: sub, object: 'subscription', status: 'active', current_period_end: T0 } },
      });
      const stored = await storedEventJob(client, keys, {
        source: 'stripe',
        eventId,
        type: 'customer.subscription.updated',
        payload,
        ...(keyed ? { order: { key: sub, at: (T0 + i) * 1000 } } : {}),
      });
      return stored.job;
    };
    for (let i = 0; i < events; i += 500) {
      await queue.addBulk(
        await Promise.all(Array.from({ length: Math.min(500, events - i) }, (_, j) => one(i + j))),
      );
    }
    app = spawnApp('worker', {
      REDIS_URL: redis.url,
      QUEUE_PREFIX: prefix,
      WORKER_CONCURRENCY: CONCURRENCY,
      LOG_LEVEL: 'error',
      // The jobs handed a lane are the worker's: kept like the preloaded ones, to be counted.
      COMPLETED_JOBS_KEPT: String(env.COMPLETED_JOBS_KEPT),
    });
    await sleep(1500); // start-up out of the measured time
    const started = performance.now();
    await queue.resume();
    // A parked job completes, and its event comes back as a job handed the lane (added before the
    // job that releases it completes): done is nothing left to run, and every event started.
    const deadline = Date.now() + 600_000;
    for (;;) {
      const c = await queue.getJobCounts(
        'waiting',
        'active',
        'delayed',
        'prioritized',
        'completed',
        'failed',
      );
      const left = (c.waiting ?? 0) + (c.active ?? 0) + (c.delayed ?? 0) + (c.prioritized ?? 0);
      if (left === 0 && (c.completed ?? 0) + (c.failed ?? 0) >= events) break;
      if (Date.now() > deadline) throw new Error(`${left} jobs still to run`);
      await sleep(50);
    }
    const seconds = (performance.now() - started) / 1000;
    // Off the clock: every event ran once through the mirror (or failed).
    const subs = Array.from({ length: subscriptions }, (_, i) =>
      demoKeys(keys.prefix).demoSubscription(`sub_${i}`),
    );
    const seen = (await Promise.all(subs.map((k) => client.hget(k, 'seen')))).reduce(
      (s, v) => s + Number(v ?? 0),
      0,
    );
    const failed = await queue.getFailedCount();
    if (seen + failed !== events)
      throw new Error(`${seen} events mirrored and ${failed} failed, of ${events}`);
    return {
      'ordering key': keyed ? 'subscription id' : 'none',
      subscriptions,
      events,
      'events/s': Math.round(events / seconds),
      failed,
    };
  } finally {
    app?.kill();
    await app?.exited;
    await queue.close();
    client.disconnect();
    redis.stop();
  }
}
