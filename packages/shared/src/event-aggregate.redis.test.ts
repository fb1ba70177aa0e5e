import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AGGREGATE_LUA, aggregate } from './event-aggregate.ts';
import type { EventState } from './event-status.ts';
import { luaScript } from './lua.ts';
import { createRedis, type RedisClient, waitForRedis } from './redis.ts';

// The Lua rule, run on a record whose runs are in the given states (absent = never started).
const RUN = luaScript(`${AGGREGATE_LUA}
local ev = KEYS[1]
redis.call('DEL', ev)
redis.call('HSET', ev, 'workflows', ARGV[1])
for i = 2, #ARGV, 2 do
  if ARGV[i + 1] ~= 'absent' then redis.call('HSET', ev, 's:' .. ARGV[i], ARGV[i + 1]) end
end
local state = aggregate(ev)
redis.call('DEL', ev)
return state
`);

const RUN_STATES = ['absent', 'queued', 'processing', 'retrying', 'completed', 'failed'] as const;

/** Every combination of states over `n` runs. */
function* combinations(n: number): Generator<(typeof RUN_STATES)[number][]> {
  if (n === 0) {
    yield [];
    return;
  }
  for (const rest of combinations(n - 1)) for (const s of RUN_STATES) yield [s, ...rest];
}

describe('the rule for an event state', () => {
  let redis: RedisClient;
  const key = `agg-test:${randomUUID()}`;
  beforeAll(async () => {
    redis = createRedis({ REDIS_URL: process.env.REDIS_URL ?? 'redis://127.0.0.1:6379' }, 'patient');
    await waitForRedis(redis);
  });
  afterAll(() => redis.disconnect());

  it('is the same in Lua and in TypeScript over every combination of up to three runs', async () => {
    let checked = 0;
    for (let n = 1; n <= 3; n++) {
      for (const states of combinations(n)) {
        const names = states.map((_, i) => `wf${i}`);
        const lua = await RUN(
          redis,
          [key],
          [names.join(','), ...names.flatMap((wf, i) => [wf, states[i] as string])],
        );
        const ts = aggregate(states.map((s) => (s === 'absent' ? 'queued' : s)) as EventState[]);
        expect({ states, state: lua }).toEqual({ states, state: ts });
        checked++;
      }
    }
    expect(checked).toBe(6 + 36 + 216);
  });
});
