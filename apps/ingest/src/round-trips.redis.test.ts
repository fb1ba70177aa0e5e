import type { RedisClient } from '@oncehook/shared';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createTestApp, type TestApp } from './testing/app.ts';

/** Every command the ingest sends to Redis is a round trip (no pipelining): counted at the client. */
function countCommands(redis: RedisClient) {
  const sent: string[] = [];
  const send = redis.sendCommand.bind(redis);
  redis.sendCommand = ((command: { name: string }, ...rest: unknown[]) => {
    sent.push(command.name);
    return (send as (...a: unknown[]) => unknown)(command, ...rest);
  }) as typeof redis.sendCommand;
  return sent;
}

let t: TestApp;
beforeEach(async () => {
  t = await createTestApp();
});
afterEach(async () => {
  await t.close();
});

const delivery = (id: string) => ({ event_id: id, type: 'payment.succeeded', amount: 100, currency: 'USD' });

describe('round trips to Redis per delivery', () => {
  it('a new event: two (its record, its job); a re-delivery once a worker has it: one', async () => {
    await t.post('/webhook', delivery('evt_warm')); // BullMQ's first add sets its connection up
    const sent = countCommands(t.redis);

    expect((await t.post('/webhook', delivery('evt_rt'))).status).toBe(200);
    expect(sent).toEqual(['evalsha', 'evalsha']);

    await t.startedByWorker('demo', 'evt_rt');
    sent.length = 0;
    expect(await (await t.post('/webhook', delivery('evt_rt'))).json()).toEqual({
      received: true,
      duplicate: true,
    });
    expect(sent).toEqual(['evalsha']);
  });
});
