import { eventTag } from '@oncehook/shared';
import { UnrecoverableError } from 'bullmq';
import { afterEach, describe, expect, it } from 'vitest';
import { createTestEngine, type TestEngine } from '../testing/engine.ts';
import { defineWorkflow } from './define-workflow.ts';

/** What an event can make oncehook store is bounded; what can never succeed fails at attempt 1. */
const services = { size: 10, error: '' };
const flow = defineWorkflow<typeof services>('flow', { source: 'demo', type: 'test' })
  .step('produce', (_e, ctx) => {
    if (ctx.services.error) throw new Error(ctx.services.error);
    return { data: 'x'.repeat(ctx.services.size) };
  })
  .step('after', () => ({ ok: true }));

let t: TestEngine;
async function setup(env: Record<string, string> = {}) {
  services.size = 10;
  services.error = '';
  t = await createTestEngine([flow], () => services, env);
}
afterEach(async () => {
  await t?.close();
});

describe('bounded data', () => {
  it('fails a step whose result is over STEP_RESULT_MAX_BYTES, instead of storing it', async () => {
    await setup({ STEP_RESULT_MAX_BYTES: '4096' });
    services.size = 5000;
    const event = await t.acceptEvent('evt_big_result', {});
    const err = await t.run(event.job).catch((e) => e);
    expect(err).toBeInstanceOf(UnrecoverableError);
    expect(err.message).toMatch(/returned 50\d\d bytes, more than STEP_RESULT_MAX_BYTES \(4096\)/);
    const status = await t.status('evt_big_result');
    expect(status).toMatchObject({ state: 'failed', attempts: 1 });
    expect(status?.steps[0]?.done).toBe(false);
  });

  it('stores at most 1,000 characters of an error, and /status shows a large result by its size', async () => {
    await setup({ STEP_RESULT_MAX_BYTES: '1048576' });
    services.error = `upstream said: ${'e'.repeat(1_000_000)}`;
    const failing = await t.acceptEvent('evt_long_error', {});
    await expect(t.run(failing.job, { maxAttempts: 1 })).rejects.toThrow('upstream said');
    expect((await t.status('evt_long_error'))?.error?.length).toBeLessThanOrEqual(1000 + 'flow: '.length);

    services.error = '';
    services.size = 100_000;
    const large = await t.acceptEvent('evt_large_result', {});
    await t.run(large.job);
    const status = await t.status('evt_large_result');
    expect(status?.steps[0]).toEqual({
      name: 'produce',
      done: true,
      result: { truncated: true, bytes: JSON.stringify({ data: 'x'.repeat(100_000) }).length },
    });
    expect(JSON.stringify(status).length).toBeLessThan(2000);
  });
});

describe('poison jobs fail at their first attempt', () => {
  it('a job whose source cannot be a source', async () => {
    await setup();
    const event = await t.acceptEvent('evt_poison', {});
    const err = await t.run({ ...event.job, source: 'Not.A:Source' }).catch((e) => e);
    expect(err).toBeInstanceOf(UnrecoverableError);
  });

  it('a job whose data does not fit its schema', async () => {
    await setup();
    for (const data of [
      {},
      { source: 'demo' },
      { ...(await t.acceptEvent('evt_shape', {})).job, receivedAt: 'yesterday' },
    ]) {
      expect(await t.run(data as never).catch((e) => e)).toBeInstanceOf(UnrecoverableError);
    }
  });

  it('a workflows job for a workflow this worker does not have, recorded as failed', async () => {
    await setup();
    const event = await t.acceptEvent('evt_unknown_wf', {});
    await t.redis.hset(t.keys.event(event.tag), 'workflows', 'flow,gone');
    const err = await t.run(t.jobFor(event, 'gone')).catch((e) => e);
    expect(err).toBeInstanceOf(UnrecoverableError);
    expect(err.message).toMatch(/no workflow named "gone"/);
    expect((await t.status('evt_unknown_wf'))?.workflows.find((w) => w.name === 'gone')?.state).toBe(
      'failed',
    );
  });

  it('sources named like Object.prototype keys are plain names', async () => {
    await setup();
    for (const source of ['constructor', '__proto__'.replaceAll('_', 'x'), 'hasownproperty', 'tostring']) {
      const event = await t.acceptEvent(`evt_${source}`, {}, { source });
      expect(await t.run(event.job)).toEqual({ outcome: 'ignored' });
      expect(eventTag(source, 'x')).toMatch(new RegExp(`^${source}\\.`));
    }
  });
});
