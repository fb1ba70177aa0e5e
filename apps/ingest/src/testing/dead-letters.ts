import { EVENT_FIELDS, eventTag } from '@oncehook/shared';
import { Worker } from 'bullmq';
import type { TestApp } from './app.ts';

/**
 * What a worker leaves when the payment workflow failed for good at `charge`, its attempts used up
 * (a dependency that stayed down): the event's job failed. A run failed on a permanent error fails
 * on its first attempt instead (UnrecoverableError).
 */
export async function failedAtCharge(t: TestApp, ids: string[]) {
  for (const id of ids) {
    await t.post('/webhook', { event_id: id, type: 'payment.succeeded', amount: 100, currency: 'USD' });
    await t.redis.hset(t.keys.event(eventTag('demo', id)), {
      state: 'failed',
      error: 'payments API answered 503',
      workflows: 'payment',
      [EVENT_FIELDS.runSteps('payment')]: 'validate,charge,ledger,record',
      [EVENT_FIELDS.runState('payment')]: 'failed',
      [EVENT_FIELDS.runAttempts('payment')]: '3',
      [EVENT_FIELDS.runError('payment')]: 'payments API answered 503',
      [EVENT_FIELDS.started('payment', 'charge')]: '1',
    });
  }
  // Its last attempt next: BullMQ counts it in `atm`.
  for (const job of await t.queue.getJobs(['waiting']))
    await t.redis.hset(t.queue.toKey(String(job.id)), 'atm', String((job.opts.attempts ?? 1) - 1));
  const failing = new Worker(
    t.queue.name,
    async () => {
      throw new Error('payments API answered 503');
    },
    { connection: t.redis, prefix: t.queue.opts.prefix },
  );
  try {
    for (let i = 0; i < 500 && (await t.queue.getFailedCount()) < ids.length; i++)
      await new Promise((r) => setTimeout(r, 20));
  } finally {
    await failing.close();
  }
  if ((await t.queue.getFailedCount()) < ids.length) throw new Error('the jobs did not fail');
}
