/**
 * Both providers answer 429 when a client lists too fast (GitHub also 403 with no requests left).
 * A listing then waits — as long as the provider says (Retry-After, GitHub's reset time) or else
 * exponentially longer, with jitter so that several reconcilers do not return in step — and asks
 * again, up to `attempts` times in all; then the run fails and the next one starts from its
 * checkpoint.
 */
export interface RateLimitPolicy {
  attempts: number;
  baseMs: number;
  maxMs: number;
  sleep(ms: number): Promise<void>;
}

export const RATE_LIMIT_POLICY: RateLimitPolicy = {
  attempts: 8,
  baseMs: 1000,
  maxMs: 60_000,
  sleep: (ms) => new Promise((r) => setTimeout(r, ms)),
};

/** What a provider client reports about a refused call: rate limited, and how long to wait if it said. */
export type RateLimitOf = (err: unknown) => { retryAfterMs?: number } | null;

export async function retryRateLimited<T>(
  call: () => Promise<T>,
  rateLimitOf: RateLimitOf,
  onWait: (ms: number) => void,
  policy: RateLimitPolicy = RATE_LIMIT_POLICY,
): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await call();
    } catch (err) {
      const limited = rateLimitOf(err);
      if (!limited || attempt >= policy.attempts) throw err;
      const exponential = Math.min(policy.maxMs, policy.baseMs * 2 ** (attempt - 1));
      const ms = Math.min(policy.maxMs, limited.retryAfterMs ?? exponential * (0.5 + Math.random() / 2));
      onWait(ms);
      await policy.sleep(ms);
    }
  }
}

/** `Retry-After` in seconds (the form both providers use), in ms; undefined if absent or odd. */
export function retryAfterMs(header: string | null | undefined): number | undefined {
  const seconds = Number(header);
  return header && Number.isFinite(seconds) && seconds >= 0 ? seconds * 1000 : undefined;
}
