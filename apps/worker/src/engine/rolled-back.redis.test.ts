import { afterEach, describe, expect, it } from 'vitest';
import { createTestEngine, type TestEngine } from '../testing/engine.ts';
import { defineWorkflow } from './define-workflow.ts';

/**
 * A record that lost the writes of a run's start: a Redis failover promotes a replica that never
 * saw them (START is not waited on; the markers after it are). The run's later writes must not
 * land on such a record as if the start had happened: a state written without the workflow list
 * read as "every run completed", and the job's retry then did nothing — an ACKed event whose
 * receipt was never sent.
 */
function testServices() {
  return {
    calls: { charge: 0, receipt: 0 },
    /** Runs inside the `charge` step, after its effect. */
    afterCharge: null as null | (() => Promise<void>),
  };
}
type Services = ReturnType<typeof testServices>;

const pay = defineWorkflow<Services>('pay', { source: 'demo', type: 'test' })
  .step('charge', async (_event, ctx) => {
    ctx.services.calls.charge++;
    await ctx.services.afterCharge?.();
    return { charged: true };
  })
  .step('receipt', (_event, ctx) => {
    ctx.services.calls.receipt++;
    return { sent: true };
  });

let t: TestEngine;
let services: Services;

afterEach(async () => {
  await t?.close();
});

/** An accepted event, and a way to put its record back the way the ingest left it. */
async function accepted(eventId: string) {
  services = testServices();
  t = await createTestEngine([pay], () => services);
  const event = await t.acceptEvent(eventId, {});
  const key = t.keys.event(event.tag);
  const asOpened = await t.redis.hgetall(key);
  const failover = async () => {
    await t.redis.multi().del(key).hset(key, asOpened).pexpire(key, 60_000).exec();
  };
  return { event, key, failover };
}

describe('a record that lost its run’s start in a failover', () => {
  it('a failing attempt records nothing on it, and the retry runs the steps', async () => {
    const { event, failover } = await accepted('evt_lost_start_fail');
    services.afterCharge = async () => {
      await failover();
      services.afterCharge = null;
      throw new Error('connection to the old primary lost');
    };
    await expect(t.run(event.job)).rejects.toThrow('connection to the old primary lost');
    expect((await t.status('evt_lost_start_fail'))?.state).not.toBe('completed');

    const retry = await t.run(event.job, { attemptsMade: 1 });
    expect(retry).toMatchObject({ outcome: 'completed', ran: ['charge', 'receipt'] });
    expect(services.calls).toEqual({ charge: 2, receipt: 1 });
    expect(await t.status('evt_lost_start_fail')).toMatchObject({
      state: 'completed',
      steps: [
        { name: 'charge', done: true },
        { name: 'receipt', done: true },
      ],
    });
  });

  it('a step commit on it writes no marker and fails the attempt, to be retried from the start', async () => {
    const { event, key, failover } = await accepted('evt_lost_start_commit');
    services.afterCharge = async () => {
      await failover();
      services.afterCharge = null;
    };
    await expect(t.run(event.job)).rejects.toThrow(/no longer shows this run as started/);
    expect(await t.redis.hget(key, 'm:pay:charge')).toBeNull();
    expect(services.calls.receipt).toBe(0);

    const retry = await t.run(event.job, { attemptsMade: 1 });
    expect(retry).toMatchObject({ outcome: 'completed', ran: ['charge', 'receipt'] });
    expect(services.calls).toEqual({ charge: 2, receipt: 1 });
  });
});

describe('a workflows job whose record expired while it waited', () => {
  it('is not shown completed while its run retries, and the retry runs', async () => {
    const { event, key } = await accepted('evt_recreated');
    await t.redis.del(key);
    services.afterCharge = async () => {
      services.afterCharge = null;
      throw new Error('the payments API timed out');
    };
    await expect(t.run(t.jobFor(event, 'pay'))).rejects.toThrow('timed out');
    expect((await t.status('evt_recreated'))?.state).toBe('retrying');

    const retry = await t.run(t.jobFor(event, 'pay'), { attemptsMade: 1, attemptsStarted: 2 });
    expect(retry).toMatchObject({ outcome: 'completed', ran: ['charge', 'receipt'] });
    expect(services.calls).toEqual({ charge: 2, receipt: 1 });
    expect((await t.status('evt_recreated'))?.state).toBe('completed');
  });
});
