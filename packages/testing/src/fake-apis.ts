import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { fakeStripeEvents } from './fake-stripe-events.ts';

export interface FakeCharge {
  id: string;
  hits: number;
  amount: number;
  currency: string;
  metadata: Record<string, string>;
}

export interface FakeEmail {
  id: string;
  hits: number;
  /** The key it was sent with: lookups find it by this even after the key map forgot it. */
  idempotencyKey: string;
  body: { to?: string; subject?: string; text?: string };
}

export interface FakeApiOptions {
  /** The first request for each idempotency key answers 500 (and records nothing). */
  failFirst?: boolean;
  delayMs?: number;
}

/**
 * A Stripe-compatible payments API (`POST /v1/payment_intents`, form-encoded as the SDK sends it,
 * or JSON; `GET /v1/payment_intents/search` by metadata; `GET /v1/checkout/sessions/:id` for the
 * sessions a test puts in `checkoutSessions`; `GET /v1/subscriptions/:id` for `subscriptions`, counting
 * the requests per subscription in flight at once; `GET /v1/events`, fake-stripe-events.ts) and a mail
 * API (`POST /emails`; `GET /emails?idempotency_key=` finds a sent email by the key it was sent
 * with), both
 * honouring `Idempotency-Key` the way Stripe does: same key, same object back. Tests count the
 * distinct keys: one per effect means each effect happened once.
 */
export async function startFakeApis(options: FakeApiOptions = {}) {
  const charges = new Map<string, FakeCharge>();
  const emails = new Map<string, FakeEmail>();
  const checkoutSessions = new Map<string, Record<string, unknown>>();
  const subscriptions = new Map<string, Record<string, unknown>>();
  /**
   * Per object (a subscription id), requests in flight now and the most ever at once: a reader
   * that runs one event per object at a time never makes it more than 1.
   */
  const inFlight = new Map<string, number>();
  const concurrency = { maxPerObject: new Map<string, number>(), overlapping: 0 };
  let delayMs = options.delayMs ?? 0;
  /** `METHOD /path` of every request, in arrival order (the first 10,000). */
  const calls: string[] = [];
  const failedOnce = new Set<string>();
  const stats = { requests: 0, noKey: 0, tooLong: 0, injected: 0 };
  const down = new Set<'payments' | 'emails'>();
  const stripeEvents = fakeStripeEvents();

  const send = (res: ServerResponse, status: number, body: unknown) => {
    res.writeHead(status, { 'content-type': 'application/json', 'request-id': `req_${stats.requests}` });
    res.end(JSON.stringify(body));
  };
  const apiError = (res: ServerResponse, status: number, type: string, message: string) =>
    send(res, status, { error: { type, message } });

  async function handle(req: IncomingMessage, res: ServerResponse) {
    let raw = '';
    for await (const chunk of req) raw += chunk;
    stats.requests++;
    const url = new URL(req.url ?? '/', 'http://fake');
    const subscriptionId = /^\/v1\/subscriptions\/([^/]+)$/.exec(url.pathname)?.[1];
    if (subscriptionId) {
      const now = (inFlight.get(subscriptionId) ?? 0) + 1;
      inFlight.set(subscriptionId, now);
      if (now > 1) concurrency.overlapping++;
      concurrency.maxPerObject.set(
        subscriptionId,
        Math.max(now, concurrency.maxPerObject.get(subscriptionId) ?? 0),
      );
      res.once('close', () => inFlight.set(subscriptionId, (inFlight.get(subscriptionId) ?? 1) - 1));
    }
    if (delayMs) await new Promise((r) => setTimeout(r, delayMs));
    if (calls.length < 10_000) calls.push(`${req.method} ${url.pathname}`);

    if (req.method === 'GET' && subscriptionId) {
      if (down.has('payments')) return apiError(res, 503, 'api_error', 'down (injected)');
      const sub = subscriptions.get(decodeURIComponent(subscriptionId));
      return sub
        ? send(res, 200, { object: 'subscription', ...sub })
        : apiError(res, 404, 'invalid_request_error', `No such subscription: '${subscriptionId}'`);
    }

    const sessionId = /^\/v1\/checkout\/sessions\/([^/]+)$/.exec(url.pathname)?.[1];
    if (req.method === 'GET' && sessionId) {
      if (down.has('payments')) return apiError(res, 503, 'api_error', 'down (injected)');
      const session = checkoutSessions.get(decodeURIComponent(sessionId));
      return session
        ? send(res, 200, { object: 'checkout.session', ...session })
        : apiError(res, 404, 'invalid_request_error', `No such checkout.session: '${sessionId}'`);
    }

    if (stripeEvents.handles(req, url)) return stripeEvents.serve(req, url, res);

    if (req.method === 'GET' && url.pathname === '/v1/payment_intents/search') {
      const wanted = /^metadata\['([^']+)'\]:'((?:[^'\\]|\\.)*)'$/.exec(url.searchParams.get('query') ?? '');
      const [, field = '', value = ''] = wanted ?? [];
      const unescaped = value.replace(/\\(.)/g, '$1');
      const data = [...charges.values()].filter((c) => c.metadata[field] === unescaped).map((c) => intent(c));
      return send(res, 200, {
        object: 'search_result',
        data,
        has_more: false,
        next_page: null,
        url: url.pathname,
      });
    }

    if (req.method === 'GET' && url.pathname === '/emails') {
      const wanted = url.searchParams.get('idempotency_key');
      const found = [...emails.values()].find((e) => e.idempotencyKey === wanted);
      return found ? send(res, 200, { id: found.id }) : apiError(res, 404, 'not_found', 'no such email');
    }

    const key = req.headers['idempotency-key'];
    if (typeof key !== 'string' || key === '') {
      stats.noKey++;
      return apiError(res, 400, 'invalid_request_error', 'Idempotency-Key required by this test server');
    }
    if (key.length > 255) {
      stats.tooLong++;
      return apiError(res, 400, 'idempotency_error', 'Idempotency-Key longer than 255 characters');
    }
    if (down.has(url.pathname === '/emails' ? 'emails' : 'payments')) {
      return apiError(res, 503, 'api_error', 'down (injected)');
    }
    if (options.failFirst && !failedOnce.has(key)) {
      failedOnce.add(key);
      stats.injected++;
      return apiError(res, 500, 'api_error', 'injected fault');
    }

    if (req.method === 'POST' && url.pathname === '/v1/payment_intents') {
      const params = parseBody(req.headers['content-type'], raw);
      let charge = charges.get(key);
      if (!charge) {
        charge = {
          id: `pi_${charges.size + 1}_${randomUUID().slice(0, 8)}`,
          hits: 0,
          amount: Number(params.amount),
          currency: String(params.currency ?? '').toLowerCase(),
          metadata: metadataOf(params),
        };
        charges.set(key, charge);
      } else if (charge.amount !== Number(params.amount)) {
        return apiError(
          res,
          400,
          'idempotency_error',
          'Keys for idempotent requests can only be used with the same parameters',
        );
      }
      charge.hits++;
      return send(res, 200, intent(charge));
    }
    if (req.method === 'POST' && url.pathname === '/emails') {
      let email = emails.get(key);
      if (!email) {
        email = { id: `em_${emails.size + 1}`, hits: 0, idempotencyKey: key, body: JSON.parse(raw || '{}') };
        emails.set(key, email);
      }
      email.hits++;
      return send(res, 200, { id: email.id });
    }
    return apiError(res, 404, 'invalid_request_error', `no route ${req.method} ${url.pathname}`);
  }

  const server = createServer((req, res) => {
    handle(req, res).catch((err) => apiError(res, 500, 'api_error', String(err)));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    charges,
    emails,
    checkoutSessions,
    /** `GET /v1/subscriptions/:id` answers these (the test sets each one's current state). */
    subscriptions,
    /** Requests per subscription at once (`maxPerObject`), and how many found another in flight. */
    concurrency,
    /** Every request waits this long before it is answered (runs that call the API then overlap). */
    setDelay(ms: number) {
      delayMs = ms;
    },
    calls,
    stats,
    /** Stripe's list of events, for the reconciler. */
    stripeEvents,
    /** Both APIs (or one) answer 503 to every effect while down. */
    setDown(value: boolean, which: 'payments' | 'emails' | 'both' = 'both') {
      for (const api of which === 'both' ? (['payments', 'emails'] as const) : [which]) {
        if (value) down.add(api);
        else down.delete(api);
      }
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

export type FakeApis = Awaited<ReturnType<typeof startFakeApis>>;

function intent(c: FakeCharge) {
  return {
    id: c.id,
    object: 'payment_intent',
    amount: c.amount,
    currency: c.currency,
    status: 'succeeded',
    metadata: c.metadata,
    livemode: false,
  };
}

function parseBody(contentType: string | undefined, raw: string): Record<string, unknown> {
  if (contentType?.includes('json')) return JSON.parse(raw || '{}') as Record<string, unknown>;
  return Object.fromEntries(new URLSearchParams(raw));
}

/** `metadata[k]=v` form fields (what the SDK sends), or a JSON `metadata` object. */
function metadataOf(params: Record<string, unknown>): Record<string, string> {
  if (params.metadata && typeof params.metadata === 'object')
    return params.metadata as Record<string, string>;
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(params)) {
    const field = /^metadata\[(.+)\]$/.exec(name)?.[1];
    if (field) out[field] = String(value);
  }
  return out;
}
