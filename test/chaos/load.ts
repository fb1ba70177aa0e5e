import { demoPayment, type FakeApis, postJson, sleep } from '@oncehook/testing';
import { random } from './random.ts';
import { signedHeaders, WINDOWS } from './sources.ts';
import { CHAOS_SOURCE } from './workflows.ts';

export type EventKind = 'payment' | 'subscription' | 'account' | 'invoice';

/** One event the load sent, and what became of its deliveries. */
export interface SentEvent {
  kind: EventKind;
  source: string;
  id: string;
  path: string;
  body: string;
  /** The subscription or account it is about (ordered kinds). */
  object?: string;
  amount?: number;
  copies: number;
  /** Seconds into the run of each 200 (one per copy, once answered). */
  acks: number[];
  /** Seconds into the run of the last delivery attempt. */
  lastTry: number;
  /** Non-200 answers by status (0: no answer). */
  refused: Record<number, number>;
}

/** A subscription's life, as Stripe tells it (the ordering test's): five events, `created` in seconds. */
const SUBSCRIPTION_STEPS = [
  ['created', 0, 'incomplete', false],
  ['updated', 1, 'active', false],
  ['updated', 1, 'past_due', false],
  ['updated', 2, 'active', true],
  ['deleted', 2, 'canceled', true],
] as const;

export interface Load {
  events: Map<string, SentEvent>;
  /** Subscription id -> its final state, as the fake API answers it. */
  subscriptions: Map<
    string,
    { status: string; current_period_end: number; cancel_at: number; version: number }
  >;
  /** Account id -> its events' ids. */
  accounts: Map<string, string[]>;
  /** Stops making new events (copies already planned are still sent). */
  stopMaking(): void;
  /** Resolves once every copy planned is answered 200 or given up. */
  settled(): Promise<void>;
  /** Copies not answered 200 yet. */
  unanswered(): number;
  /** Gives up on every copy still trying (teardown). */
  abort(): void;
}

/**
 * New events all along, `rate` a second, of four kinds: demo payments (plain), Stripe subscription
 * events (ordered, built-in mirror; 5 per subscription, shuffled), chaos account events (ordered
 * and fanned out; 3-5 per account, shuffled) and chaos invoices (fanned out). Each is delivered 2
 * or 3 times, sometimes at once over both ingests, and each copy is re-sent until answered 200
 * (over the other ingest, backing off), as a provider does.
 */
export function startLoad({
  seed,
  rate,
  t0,
  bases,
  apis,
}: {
  seed: number;
  rate: number;
  t0: number;
  bases: () => string[];
  apis: FakeApis;
}): Load {
  const rng = random(seed, 'load');
  const events = new Map<string, SentEvent>();
  const subscriptions: Load['subscriptions'] = new Map();
  const accounts = new Map<string, string[]>();
  const copies = new Set<Promise<void>>();
  const now = () => (Date.now() - t0) / 1000;
  let making = true;
  let aborted = false;
  let n = 0;
  let unanswered = 0;
  const T0 = Math.floor(t0 / 1000) - 3600;

  async function deliver(ev: SentEvent, copy: number) {
    unanswered++;
    let wait = 100;
    for (let attempt = 0; !aborted; attempt++) {
      const list = bases();
      const base = list[(copy + attempt) % list.length];
      ev.lastTry = now();
      const res = await postJson(`${base}${ev.path}`, ev.body, await signedHeaders(ev.source, ev.body));
      if (res.status === 200) {
        ev.acks.push(Math.round(now() * 10) / 10);
        break;
      }
      ev.refused[res.status] = (ev.refused[res.status] ?? 0) + 1;
      // A refusal retrying cannot change (a bad signature, a bad body) is the harness's mistake.
      if (res.status >= 400 && res.status < 500 && ![408, 429].includes(res.status) && attempt > 20) break;
      await sleep(wait * (0.5 + Math.random()));
      wait = Math.min(wait * 1.5, 2000);
    }
    unanswered--;
  }

  /** Sends `ev`'s copies: the first after `delay` s, the others with it (other ingest) or soon after. */
  function send(ev: SentEvent, delay: number) {
    events.set(ev.id, ev);
    const offsets = [delay];
    for (let c = 1; c < ev.copies; c++)
      offsets.push(rng.chance(0.35) ? delay : delay + rng.between(0.1, c === 1 ? 2 : 4));
    // Now and then a provider's retry much later, still well within the shortest window.
    if (rng.chance(0.1)) {
      offsets.push(delay + rng.between(15, 40));
      ev.copies++;
    }
    offsets.forEach((offset, copy) => {
      const p = sleep(offset * 1000).then(() => (aborted ? undefined : deliver(ev, copy)));
      copies.add(p);
      void p.finally(() => copies.delete(p));
    });
  }

  const event = (kind: EventKind, source: string, id: string, path: string, body: unknown, extra = {}) =>
    ({
      kind,
      source,
      id,
      path,
      body: JSON.stringify(body),
      copies: rng.chance(0.3) ? 3 : 2,
      acks: [],
      lastTry: 0,
      refused: {},
      ...extra,
    }) satisfies SentEvent as SentEvent;

  function payment() {
    const id = `pay_${++n}`;
    const amount = rng.int(100, 99_999);
    send(event('payment', 'demo', id, '/webhook', demoPayment(id, amount), { amount }), 0);
    return 1;
  }

  function invoice() {
    const id = `inv_${++n}`;
    const amount = rng.int(100, 99_999);
    const body = { id, type: 'invoice.paid', created: Math.floor(Date.now() / 1000), data: { amount } };
    send(event('invoice', CHAOS_SOURCE, id, `/webhooks/${CHAOS_SOURCE}`, body, { amount }), 0);
    return 1;
  }

  function subscription() {
    const sub = `sub_${++n}`;
    const period = T0 + 30 * 86_400 + n;
    const final = { status: 'canceled', current_period_end: period, cancel_at: T0 + 2 };
    apis.subscriptions.set(sub, { id: sub, ...final });
    subscriptions.set(sub, { ...final, version: (T0 + 2) * 1000 });
    const burst = SUBSCRIPTION_STEPS.map(([what, dt, status, cancels], k) => {
      const id = `evt_${sub}_${k}`;
      const object = {
        id: sub,
        object: 'subscription',
        status,
        current_period_end: period,
        cancel_at: cancels ? T0 + 2 : null,
      };
      const body = {
        id,
        object: 'event',
        api_version: '2024-06-20',
        created: T0 + dt,
        livemode: false,
        type: `customer.subscription.${what}`,
        data: { object },
      };
      return event('subscription', 'stripe', id, '/webhooks/stripe', body, { object: sub });
    });
    for (const ev of rng.shuffle(burst)) send(ev, rng.between(0, 1.5));
    return burst.length;
  }

  function account() {
    const acct = `acct_${++n}`;
    apis.subscriptions.set(acct, { id: acct, status: 'active' });
    const created = Math.floor(Date.now() / 1000);
    const burst = Array.from({ length: rng.int(3, 5) }, (_, k) => {
      const id = `acc_${n}_${k}`;
      const body = { id, type: 'account.updated', created: created + k, data: { account: acct, version: k } };
      return event('account', CHAOS_SOURCE, id, `/webhooks/${CHAOS_SOURCE}`, body, { object: acct });
    });
    accounts.set(
      acct,
      burst.map((e) => e.id),
    );
    for (const ev of rng.shuffle(burst)) send(ev, rng.between(0, 1.5));
    return burst.length;
  }

  // A few accounts get an event every few seconds all run long: their lanes are never idle for
  // long, events park behind failing and frozen runs, and windows run out while they wait.
  const HOT = 2;
  for (let i = 0; i < HOT; i++) {
    apis.subscriptions.set(`acct_hot_${i}`, { id: `acct_hot_${i}`, status: 'active' });
    accounts.set(`acct_hot_${i}`, []);
  }
  function hot() {
    const acct = `acct_hot_${rng.int(0, HOT - 1)}`;
    const id = `hot_${++n}`;
    // In ms: the provider's order is the sending order, to the millisecond.
    const body = { id, type: 'account.updated', created: Date.now(), data: { account: acct, version: n } };
    accounts.get(acct)?.push(id);
    send(event('account', CHAOS_SOURCE, id, `/webhooks/${CHAOS_SOURCE}`, body, { object: acct }), 0);
    return 1;
  }

  const makers = { payment, invoice, subscription, account, hot };
  // About 35 % payments, 25 % subscription events, 15 % account events, 15 % hot accounts', 10 % invoices.
  const weights = { payment: 35, invoice: 10, subscription: 5, account: 3.75, hot: 15 };
  let budget = 0;
  const ticker = setInterval(() => {
    if (!making) return;
    budget += rate / 4;
    while (budget >= 1) budget -= makers[rng.weighted(weights)]();
  }, 250);

  return {
    events,
    subscriptions,
    accounts,
    stopMaking() {
      making = false;
      clearInterval(ticker);
    },
    async settled() {
      while (copies.size > 0) await Promise.all([...copies]);
    },
    unanswered: () => unanswered,
    abort() {
      aborted = true;
      making = false;
      clearInterval(ticker);
    },
  };
}

/** The source's dedupe window, in seconds. */
export const windowOf = (ev: SentEvent) => WINDOWS[ev.source] ?? 7 * 86_400;
