import { randomBytes } from 'node:crypto';
import type { Logger, RedisClient } from '@oncehook/worker';
import type { DemoKeys } from '../keys.ts';
import type { Mailer } from './mailer.ts';

const DAY_MS = 24 * 60 * 60 * 1000;

/** A mail API for a first run without MAILER_URL: "sends" by logging, once per idempotency key. */
export function simulatedMailer(redis: RedisClient, keys: DemoKeys, log: Logger): Mailer {
  return {
    kind: 'simulator',
    async send(email, idempotencyKey) {
      const key = keys.simulatedEmail(idempotencyKey);
      const id = `em_sim_${randomBytes(8).toString('hex')}`;
      // SET … NX GET: the id stored before, or nothing if this one was stored now.
      const before = await redis.set(key, id, 'PX', DAY_MS, 'NX', 'GET');
      const stored = before ?? id;
      const reused = before !== null;
      if (!reused)
        log.info({ to: email.to, subject: email.subject, emailId: id }, 'email sent (simulated mailer)');
      return { id: String(stored), reused };
    },
    async findByIdempotencyKey(idempotencyKey) {
      const id = await redis.get(keys.simulatedEmail(idempotencyKey));
      return id ? { id, reused: true } : null;
    },
  };
}
