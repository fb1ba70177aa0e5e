/**
 * Wrong admin tokens, counted per client address: the first few cost nothing (a typo), then each
 * one closes the address to further attempts for a while, doubling up to a minute. An attempt
 * while closed is refused without its token being compared, so guessing in parallel gains nothing:
 * an address gets about one guess a minute. A right token is never slowed by others' failures,
 * only by its own address's. Nothing waits: the window is a time, not a timer.
 *
 * Behind a proxy every client shares the proxy's address (no forwarded header is trusted for it),
 * so an attacker there can hold operators behind the same proxy to one attempt a minute too.
 */
const FREE = 2;
const FIRST_WINDOW_MS = 1000;
const MAX_WINDOW_MS = 60_000;
/** An address with no failure for this long starts afresh. */
const FORGET_MS = 15 * 60_000;
/** At most this many addresses remembered: the oldest is dropped first. */
const MAX_ADDRESSES = 10_000;

interface Record {
  failures: number;
  lastAt: number;
  closedUntil: number;
}

export class FailedAttempts {
  private readonly byAddress = new Map<string, Record>();

  constructor(private readonly now: () => number = Date.now) {}

  /** Milliseconds until `address` may try again; 0 when it may now. */
  waitFor(address: string): number {
    const r = this.current(address);
    return r ? Math.max(0, r.closedUntil - this.now()) : 0;
  }

  /** Counts a wrong token from `address`; returns its failures so far. */
  record(address: string): number {
    const now = this.now();
    const r = this.current(address) ?? { failures: 0, lastAt: now, closedUntil: 0 };
    r.failures++;
    r.lastAt = now;
    if (r.failures > FREE)
      r.closedUntil = now + Math.min(FIRST_WINDOW_MS * 2 ** (r.failures - FREE - 1), MAX_WINDOW_MS);
    // Re-inserted, so that the map's order is the order of last failure.
    this.byAddress.delete(address);
    this.byAddress.set(address, r);
    if (this.byAddress.size > MAX_ADDRESSES) {
      const oldest = this.byAddress.keys().next().value;
      if (oldest !== undefined) this.byAddress.delete(oldest);
    }
    return r.failures;
  }

  /** A right token: the address starts afresh. */
  clear(address: string): void {
    this.byAddress.delete(address);
  }

  private current(address: string): Record | undefined {
    const r = this.byAddress.get(address);
    if (r && this.now() - r.lastAt > FORGET_MS) {
      this.byAddress.delete(address);
      return undefined;
    }
    return r;
  }
}
