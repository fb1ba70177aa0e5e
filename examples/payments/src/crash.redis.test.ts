import { defineWorkflow } from '@oncehook/worker';
import { createTestEngine, type TestEngine } from '@oncehook/worker/testing';
import { afterEach, describe, expect, it } from 'vitest';
import { simulateCrash } from './crash.ts';

let t: TestEngine | undefined;
afterEach(async () => {
  await t?.close();
  t = undefined;
});

describe('SIMULATE_CRASH', () => {
  it('fails the step after its side effect on the first attempt only; the retry repeats it under the same key', async () => {
    const keys: string[] = [];
    const flow = defineWorkflow('flow', { source: 'demo', type: 'test' })
      .step('first', () => ({ ok: true }))
      .step('second', (_e, ctx) => {
        keys.push(ctx.idempotencyKey);
        return { charged: true };
      });
    t = await createTestEngine([simulateCrash(flow, 'second')], () => ({}));
    const engine = t;
    const event = await engine.acceptEvent('evt_crash', {}, { type: 'test' });
    await expect(engine.run(event.job)).rejects.toThrow('SIMULATE_CRASH=second');
    expect(keys).toHaveLength(1);
    expect((await engine.status('evt_crash'))?.steps[1]?.done).toBe(false);

    await engine.run(event.job, { attemptsMade: 1 });
    expect(keys).toEqual([keys[0], keys[0]]);
    expect((await engine.status('evt_crash'))?.state).toBe('completed');
  });

  it('leaves workflows without that step as they are', () => {
    const flow = defineWorkflow('other', { source: 'demo', type: 'test' }).step('x', () => 1);
    expect(simulateCrash(flow, 'charge')).toBe(flow);
    expect(simulateCrash(flow, undefined)).toBe(flow);
  });
});
