import { SIGNERS } from '@oncehook/ingest/sign';
import {
  type AppProcess,
  type DestinationHit,
  destinationsEnv,
  fetchStatus,
  pool,
  postJson,
  type System,
  spawnApp,
  startFakeDestination,
  startSystem,
  waitFor,
} from '@oncehook/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

/**
 * A destination's limits and order hold across workers, measured where it counts: at the
 * destination. Three `oncehook-worker` processes (the bin: destinations only) forward 25 invoices to
 * a slow service allowed 2 requests at once and to one allowed 5 a second, and 20 subscription
 * events, delivered shuffled before any worker runs, to an ordered one.
 */
const SECRET = 'whsec_forwarding_limits';
const subscriptionOf = (hit: DestinationHit) =>
  (JSON.parse(hit.body.toString()) as { data: { object: { id: string } } }).data.object.id;
let sys: System;
let slow: Awaited<ReturnType<typeof startFakeDestination>>;
let rated: Awaited<ReturnType<typeof startFakeDestination>>;
let ordered: Awaited<ReturnType<typeof startFakeDestination>>;
const forwarders: AppProcess[] = [];

const invoices = Array.from({ length: 25 }, (_, i) => ({
  id: `evt_inv_${i}`,
  body: JSON.stringify({
    id: `evt_inv_${i}`,
    object: 'event',
    created: 1_700_000_000,
    type: 'invoice.paid',
    data: { object: { id: `in_${i}` } },
  }),
}));
// Four events per subscription, one second apart in Stripe's time.
const subscriptionEvents = Array.from({ length: 5 }, (_, s) =>
  Array.from({ length: 4 }, (_, n) => ({
    id: `evt_sub_${s}_${n}`,
    body: JSON.stringify({
      id: `evt_sub_${s}_${n}`,
      object: 'event',
      created: 1_700_000_000 + n,
      type: 'customer.subscription.updated',
      data: { object: { id: `sub_${s}`, object: 'subscription', n } },
    }),
  })),
).flat();

beforeAll(async () => {
  slow = await startFakeDestination({ answer: () => ({ status: 200, body: 'ok', delayMs: 100 }) });
  rated = await startFakeDestination();
  // The first request of a key is slow: the key's other events are parked behind it meanwhile.
  ordered = await startFakeDestination({
    answer: (hit) => ({
      status: 200,
      body: 'ok',
      delayMs: ordered.hits.filter((h) => subscriptionOf(h) === subscriptionOf(hit)).length === 1 ? 500 : 30,
    }),
    keyOf: subscriptionOf,
  });
  const destinations = destinationsEnv([
    { name: 'slow-api', url: slow.url, sources: ['stripe'], types: ['invoice.*'], maxInFlight: 2 },
    { name: 'rated-api', url: rated.url, sources: ['stripe'], types: ['invoice.*'], ratePerSecond: 5 },
    {
      name: 'ordered-api',
      url: ordered.url,
      sources: ['stripe'],
      types: ['customer.subscription.*'],
      ordered: true,
    },
  ]);
  sys = await startSystem({ workers: 0, env: { STRIPE_WEBHOOK_SECRET: SECRET } });
  const all = [...invoices, ...subscriptionEvents].sort(() => Math.random() - 0.5);
  await pool(all, 8, async (e) => {
    const headers = await SIGNERS.stripe({ body: e.body, secret: SECRET, id: '', nowMs: Date.now() });
    expect((await postJson(`${sys.base}/webhooks/stripe`, e.body, headers)).status).toBe(200);
  });
  const env = { REDIS_URL: sys.redis.url, QUEUE_PREFIX: sys.prefix, BACKOFF_MS: '50', ...destinations };
  for (let i = 0; i < 3; i++) forwarders.push(spawnApp('forwarder', env));
  await waitFor(
    async () => {
      const states = await pool([...invoices, ...subscriptionEvents], 16, async (e) => {
        const res = await fetchStatus(sys.base, 'stripe', e.id);
        return ((await res.json()) as { state: string }).state;
      });
      return states.every((s) => s === 'completed');
    },
    120_000,
    `every event forwarded (${forwarders
      .map((f) => f.output())
      .join('')
      .slice(-2000)})`,
  );
});
afterAll(async () => {
  for (const f of forwarders) f.kill();
  await Promise.all(forwarders.map((f) => f.exited));
  await sys?.stop();
  await Promise.all([slow?.close(), rated?.close(), ordered?.close()]);
});

/** Each event delivered once: one 2xx-answered request per webhook-id, one webhook-id per event. */
function deliveredOnce(d: typeof slow, events: { id: string }[]) {
  const delivered = d.delivered();
  expect(delivered.every((h) => h.verified)).toBe(true);
  expect(delivered.map((h) => h.headers['x-oncehook-event-id']).sort()).toEqual(
    events.map((e) => e.id).sort(),
  );
  expect(new Set(delivered.map((h) => h.webhookId)).size).toBe(events.length);
}

describe('limits per destination, across three workers', () => {
  it('maxInFlight: never more than 2 requests at once at the destination', () => {
    deliveredOnce(slow, invoices);
    expect(slow.most.all).toBe(2);
  });

  it('ratePerSecond: never more than 5 requests started in any second at the destination', () => {
    deliveredOnce(rated, invoices);
    // Counted over windows a little shorter than a second: the limit is kept on Redis's clock, and
    // each request takes its own few milliseconds from there to the destination.
    const arrivals = rated.hits.map((h) => h.arrived).sort((a, b) => a - b);
    const busiest = Math.max(...arrivals.map((t) => arrivals.filter((a) => a >= t && a < t + 800).length));
    expect(busiest).toBeLessThanOrEqual(5);
  });
});

describe('an ordered destination', () => {
  it('never sees two requests of one key at once; the events that waited come in provider order', () => {
    deliveredOnce(ordered, subscriptionEvents);
    expect(ordered.most.perKey).toBe(1);
    for (let s = 0; s < 5; s++) {
      // Whichever event a worker took first ran first; the others waited together in its lane.
      const seen = ordered.hits
        .filter((h) => subscriptionOf(h) === `sub_${s}`)
        .map((h) => h.headers['x-oncehook-event-id']);
      const waited = seen.slice(1);
      expect(waited).toEqual([...waited].sort());
    }
  });
});
