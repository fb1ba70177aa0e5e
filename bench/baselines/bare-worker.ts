/**
 * Baseline: a bare BullMQ worker doing the demo's effects with none of oncehook's guarantees — one
 * payments call, one mail call (the same fake APIs, with idempotency keys) and a ledger HINCRBY —
 * or nothing at all (`noop`). Consumes oncehook's own `events` queue, so both get the same jobs.
 * `node --import tsx bench/baselines/bare-worker.ts <redis url> <bull prefix> <apis url|noop> <concurrency>`
 */
import { Worker } from 'bullmq';
import { Redis } from 'ioredis';

const [url, prefix, apis, concurrency] = process.argv.slice(2) as [string, string, string, string];
const redis = new Redis(url, { maxRetriesPerRequest: null });
const post = (path: string, key: string, body: string, type: string) =>
  fetch(`${apis}${path}`, {
    method: 'POST',
    headers: { 'content-type': type, 'idempotency-key': key },
    body,
  }).then((r) => r.json());

const worker = new Worker(
  'events',
  async (job) => {
    if (apis === 'noop') return;
    const key = `${job.data.source}:${job.data.eventId}`;
    const payment = (await post(
      '/v1/payment_intents',
      `${key}:charge`,
      'amount=1000&currency=usd',
      'application/x-www-form-urlencoded',
    )) as { id: string };
    await post(
      '/emails',
      `${key}:receipt`,
      JSON.stringify({ to: 'x@example.com', subject: payment.id }),
      'application/json',
    );
    await redis.hincrby(`${prefix}:bare-ledger`, 'USD', 1000);
  },
  { connection: redis, prefix, concurrency: Number(concurrency), removeOnComplete: { count: 1000 } },
);
worker.on('ready', () => process.send?.('ready'));
