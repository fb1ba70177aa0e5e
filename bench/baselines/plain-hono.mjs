/**
 * Baseline: the plain receiver most teams write first — Hono, `SET NX` on the event id, then
 * `Queue.add` — with none of oncehook's guarantees (a crash between the two loses the event).
 * `node bench/baselines/plain-hono.mjs <port> <redis url> <prefix>`
 */
import { serve } from '@hono/node-server';
import { Queue } from 'bullmq';
import { Hono } from 'hono';
import { Redis } from 'ioredis';

const [port = '0', url = '', prefix = ''] = process.argv.slice(2);
const redis = new Redis(url, { maxRetriesPerRequest: null });
const queue = new Queue('plain', { connection: redis, prefix: `{${prefix}}` });
const app = new Hono();
app.post('/webhook', async (c) => {
  const body = await c.req.json();
  const fresh = await redis.set(`${prefix}:seen:${body.event_id}`, '1', 'EX', 604800, 'NX');
  if (fresh) await queue.add('event', body, { jobId: body.event_id, removeOnComplete: true });
  return c.json({ received: true, duplicate: !fresh });
});
serve({ fetch: app.fetch, port: Number(port), hostname: '127.0.0.1' }, () => process.send?.('ready'));
