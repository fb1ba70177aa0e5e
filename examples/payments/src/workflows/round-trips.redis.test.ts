import type { RedisClient } from '@oncehook/worker';
import { createTestEngine, type TestEngine } from '@oncehook/worker/testing';
import { afterEach, describe, expect, it } from 'vitest';
import { parseDemoEnv } from '../env.ts';
import { createServices } from '../services/index.ts';
import { payment } from './payment.ts';

let t: TestEngine;
afterEach(async () => {
  await t?.close();
});

function countCommands(redis: RedisClient) {
  const sent: { name: string; keys: string[] }[] = [];
  const send = redis.sendCommand.bind(redis);
  redis.sendCommand = ((command: { name: string; args: unknown[] }, ...rest: unknown[]) => {
    sent.push({ name: command.name, keys: command.args.map(String) });
    return (send as (...a: unknown[]) => unknown)(command, ...rest);
  }) as typeof redis.sendCommand;
  return sent;
}

describe('round trips to Redis per event', () => {
  it('the demo payment: one to start, one per effectful step (its commit), besides the effects themselves', async () => {
    t = await createTestEngine([payment], (ctx) => createServices(parseDemoEnv({}), ctx));
    const warm = await t.acceptEvent(
      'evt_warm',
      { type: 'payment.succeeded', amount: 100, currency: 'USD' },
      { type: 'payment.succeeded' },
    );
    await t.run(warm.job);
    const event = await t.acceptEvent(
      'evt_rt',
      { type: 'payment.succeeded', amount: 100, currency: 'USD' },
      { type: 'payment.succeeded' },
    );
    const sent = countCommands(t.redis);
    await t.run(event.job);

    // The simulators stand in for the payments and mail APIs: their calls are the effects.
    const engine = sent.filter((c) => !c.keys.some((k) => k.includes(':sim:')));
    const effectful = payment.steps.filter((s) => !s.pure).length;
    expect(effectful).toBe(3);
    expect(engine).toHaveLength(1 + effectful); // START, then charge, receipt, ledger (which completes)
    expect(engine.length).toBeLessThanOrEqual(effectful + 2);
    expect(sent.length - engine.length).toBe(2); // one payment, one email
  });
});
