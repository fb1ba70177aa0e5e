/**
 * Baseline: a bare BullMQ worker doing the demo's effects with none of oncehook's guarantees — one
 * payments call, one mail call (the same fake APIs, with idempotency keys) and a ledger HINCRBY —
 * or nothing at all (`noop`), or the event's body POSTed to a URL (`forward:<url>`, forwarding's
 * baseline). Consumes oncehook's own `events` queue, so both get the same jobs.
 * `node bench/baselines/bare-worker.mjs <redis url> <bull prefix> <apis url|noop|forward:url> <concurrency>`
 */
import { Worker } from 'bullmq';
import { Redis } from 'ioredis';

const [url = '', prefix = '', apis = '', concurrency = '50'] = process.argv.slice(2);
const redis = new Redis(url, { maxRetriesPerRequest: null });
/** @param {string} path @param {string} key @param {string} body @param {string} type */
const post = (path, key, body, type) =>
  fetch(`${apis}${path}`, {
    method: 'POST',
    headers: { 'content-type': type, 'idempotency-key': key },
    body,
  }).then((r) => r.json());

const worker = new Worker(
  'events',
  async (job) => {
    if (apis === 'noop') return;
    if (apis.startsWith('forward:')) {
      // Forwarding's baseline: the event's body POSTed on, nothing else.
      const res = await fetch(apis.slice('forward:'.length), {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          'idempotency-key': `${job.data.source}:${job.data.eventId}`,
        },
        body: job.data.payload,
      });
      await res.text();
      if (!res.ok) throw new Error(`answered ${res.status}`);
      return;
    }
    const key = `${job.data.source}:${job.data.eventId}`;
    const payment = /** @type {{ id: string }} */ (
      await post(
        '/v1/payment_intents',
        `${key}:charge`,
        'amount=1000&currency=usd',
        'application/x-www-form-urlencoded',
      )
    );
    await post(
      '/emails',
      `${key}:receipt`,
      JSON.stringify({ to: 'x@example.com', subject: payment.id }),
      'application/json',
    );
    await redis.hincrby(`${prefix}:bare-ledger`, 'USD', 1000);
  },
  { connection: redis, prefix, concurrency: Number(concurrency) },
);
worker.on('ready', () => process.send?.('ready'));
