import type { IncomingMessage, ServerResponse } from 'node:http';

/**
 * Stripe's `GET /v1/events` for the reconciler's tests, served by the fake payments API
 * (fake-apis.ts), so that PAYMENTS_URL points the worker's charge step and the reconciler at one
 * fake, as at Stripe. It filters by `delivery_success` and `created[gte|gt|lte|lt]`, lists newest
 * first (ties by id), and pages with `limit` + `starting_after` (which, as at Stripe, may name an
 * event the filter no longer lists). `pageSize` caps a page below `limit`, so that a few events
 * make several pages; `rateLimit(n)` answers the next n list calls 429.
 */
export interface FakeStripeEvent {
  id: string;
  object: 'event';
  api_version: string;
  created: number;
  type: string;
  livemode: boolean;
  pending_webhooks: number;
  request: { id: string | null; idempotency_key: string | null };
  data: { object: Record<string, unknown> };
}

/** A `checkout.session.completed` event the worker's stripe-checkout workflow processes. */
export function checkoutEvent(n: number, created: number, amount = 1000 + n): FakeStripeEvent {
  return {
    id: `evt_rec_${String(n).padStart(4, '0')}`,
    object: 'event',
    api_version: '2024-06-20',
    created,
    type: 'checkout.session.completed',
    livemode: false,
    pending_webhooks: 1,
    request: { id: null, idempotency_key: null },
    data: {
      object: {
        id: `cs_test_rec_${n}`,
        object: 'checkout.session',
        amount_total: amount,
        currency: 'usd',
        customer_details: { email: `customer${n}@example.com` },
        payment_status: 'paid',
        status: 'complete',
      },
    },
  };
}

export function fakeStripeEvents() {
  const all = new Map<string, FakeStripeEvent>();
  const delivered = new Set<string>();
  /** Every list call's query, as received (`created[gte]`, `starting_after`, …), and its answer. */
  const calls: { query: Record<string, string>; status: number; ids: string[] }[] = [];
  const settings = { pageSize: 100, delayMs: 0, rateLimited: 0, retryAfter: undefined as string | undefined };
  let held: Promise<void> | undefined;

  const newestFirst = (a: FakeStripeEvent, b: FakeStripeEvent) =>
    b.created - a.created || (b.id < a.id ? -1 : 1);
  const olderThan = (e: FakeStripeEvent, cursor: FakeStripeEvent) => newestFirst(cursor, e) < 0;

  async function list(req: IncomingMessage, url: URL, res: ServerResponse) {
    const query = Object.fromEntries(url.searchParams);
    const answer = (
      status: number,
      body: unknown,
      headers: Record<string, string> = {},
      ids: string[] = [],
    ) => {
      calls.push({ query, status, ids });
      res.writeHead(status, {
        'content-type': 'application/json',
        'request-id': `req_ev${calls.length}`,
        ...headers,
      });
      res.end(JSON.stringify(body));
    };
    if (!/^Bearer \S+$/.test(req.headers.authorization ?? ''))
      return answer(401, { error: { type: 'invalid_request_error', message: 'No API key provided.' } });
    if (held) await held;
    if (settings.delayMs) await new Promise((r) => setTimeout(r, settings.delayMs));
    if (settings.rateLimited > 0) {
      settings.rateLimited--;
      const retry: Record<string, string> = settings.retryAfter ? { 'retry-after': settings.retryAfter } : {};
      return answer(
        429,
        { error: { type: 'invalid_request_error', code: 'rate_limit', message: 'Too many requests.' } },
        retry,
      );
    }
    const num = (name: string) => (query[name] === undefined ? undefined : Number(query[name]));
    const [gte, gt, lte, lt] = ['created[gte]', 'created[gt]', 'created[lte]', 'created[lt]'].map(num);
    const success = query.delivery_success;
    const cursor = query.starting_after ? all.get(query.starting_after) : undefined;
    if (query.starting_after && !cursor)
      return answer(400, { error: { type: 'invalid_request_error', message: 'No such event' } });
    const matching = [...all.values()]
      .filter((e) => success === undefined || delivered.has(e.id) === (success === 'true'))
      .filter((e) => (gte === undefined || e.created >= gte) && (gt === undefined || e.created > gt))
      .filter((e) => (lte === undefined || e.created <= lte) && (lt === undefined || e.created < lt))
      .sort(newestFirst)
      .filter((e) => !cursor || olderThan(e, cursor));
    const size = Math.min(settings.pageSize, num('limit') ?? 10);
    const data = matching.slice(0, size);
    const body = { object: 'list', url: '/v1/events', has_more: matching.length > size, data };
    return answer(
      200,
      body,
      {},
      data.map((e) => e.id),
    );
  }

  return {
    calls,
    settings,
    add(event: FakeStripeEvent, opts: { delivered?: boolean } = {}) {
      all.set(event.id, event);
      if (opts.delivered) delivered.add(event.id);
    },
    /** The next `n` list calls are answered 429 (with Retry-After: `retryAfter` seconds, if given). */
    rateLimit(n: number, retryAfter?: number) {
      settings.rateLimited = n;
      settings.retryAfter = retryAfter === undefined ? undefined : String(retryAfter);
    },
    /** List calls wait until the returned function is called. */
    hold(): () => void {
      let release = () => {};
      held = new Promise<void>((r) => {
        release = r;
      });
      return () => {
        held = undefined;
        release();
      };
    },
    handles: (req: IncomingMessage, url: URL) => req.method === 'GET' && url.pathname === '/v1/events',
    serve: list,
  };
}

export type FakeStripeEvents = ReturnType<typeof fakeStripeEvents>;
