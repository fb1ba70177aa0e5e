import { describe, expect, it } from 'vitest';
import { type RateLimitPolicy, retryAfterMs, retryRateLimited } from './rate-limit.ts';

class Limited extends Error {
  constructor(readonly after?: number) {
    super('429');
  }
}
const limitOf = (err: unknown) => (err instanceof Limited ? { retryAfterMs: err.after } : null);

function policy(attempts = 5) {
  const waits: number[] = [];
  const p: RateLimitPolicy = { attempts, baseMs: 100, maxMs: 1000, sleep: async (ms) => void waits.push(ms) };
  return { p, waits };
}

describe('retryRateLimited', () => {
  it('waits as long as the provider says, else exponentially longer with jitter, then succeeds', async () => {
    const { p, waits } = policy();
    const answers = [new Limited(2500), new Limited(), new Limited(), 'page'];
    const waited: number[] = [];
    const result = await retryRateLimited(
      async () => {
        const next = answers.shift();
        if (next instanceof Error) throw next;
        return next;
      },
      limitOf,
      (ms) => waited.push(ms),
      p,
    );
    expect(result).toBe('page');
    expect(waits).toEqual(waited);
    expect(waits[0]).toBe(1000); // Retry-After, capped at maxMs
    expect(waits[1]).toBeGreaterThanOrEqual(100); // attempt 2: 100-200 ms
    expect(waits[1]).toBeLessThanOrEqual(200);
    expect(waits[2]).toBeGreaterThanOrEqual(200); // attempt 3: 200-400 ms
    expect(waits[2]).toBeLessThanOrEqual(400);
  });

  it('gives up after its attempts, and never retries what is not a rate limit', async () => {
    const { p, waits } = policy(3);
    await expect(
      retryRateLimited(
        async () => {
          throw new Limited(0);
        },
        limitOf,
        () => {},
        p,
      ),
    ).rejects.toBeInstanceOf(Limited);
    expect(waits).toHaveLength(2);
    let calls = 0;
    await expect(
      retryRateLimited(
        async () => {
          calls++;
          throw new Error('401');
        },
        limitOf,
        () => {},
        p,
      ),
    ).rejects.toThrow('401');
    expect(calls).toBe(1);
  });

  it('reads Retry-After in seconds', () => {
    expect(retryAfterMs('2')).toBe(2000);
    expect(retryAfterMs('0')).toBe(0);
    expect(retryAfterMs(null)).toBeUndefined();
    expect(retryAfterMs('Wed, 21 Oct 2015 07:28:00 GMT')).toBeUndefined();
  });
});
