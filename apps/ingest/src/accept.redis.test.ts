import { createLogger } from '@oncehook/shared';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { type AcceptDeps, acceptEvent } from './accept.ts';
import { createTestApp, type TestApp } from './testing/app.ts';

/**
 * A copy of an event listed from the provider's API (the reconciler) next to deliveries of it:
 * the bytes differ (formatting, Stripe's `pending_webhooks`), which is no conflict.
 */
let t: TestApp;
beforeEach(async () => {
  t = await createTestApp();
});
afterEach(async () => {
  await t.close();
});

const event = (body: object, listed = false) => ({
  source: 'stripe',
  eventId: 'evt_listed',
  type: 'checkout.session.completed',
  rawBody: Buffer.from(JSON.stringify(body, null, listed ? 0 : 2)),
  ttlSeconds: 3600,
  listed,
});
const delivered = { id: 'evt_listed', pending_webhooks: 2 };
const listed = { id: 'evt_listed', pending_webhooks: 1 };

describe('a listed copy (acceptEvent with listed: true)', () => {
  it('of a delivered event is a duplicate, and no conflict', async () => {
    const accept = acceptDeps(t);
    await acceptEvent(accept, event(delivered));
    const copy = await acceptEvent(accept, event(listed, true));
    expect(copy).toEqual({ duplicate: true, deliveries: 2, conflict: false });
    expect(await t.traces()).toMatchObject({ jobs: 1 });
  });

  it('of an event never delivered opens it; a later delivery is a duplicate, and its body is then the one compared', async () => {
    const accept = acceptDeps(t);
    expect(await acceptEvent(accept, event(listed, true))).toEqual({
      duplicate: false,
      deliveries: 1,
      conflict: false,
    });
    expect(await acceptEvent(accept, event(delivered))).toMatchObject({ duplicate: true, conflict: false });
    // The delivered body's hash was taken: a delivery with another body is a conflict again.
    const forged = await acceptEvent(accept, event({ ...delivered, amount: 1 }));
    expect(forged).toMatchObject({ duplicate: true, conflict: true });
    expect(await t.traces()).toMatchObject({ jobs: 1 });
  });

  it('of a listed copy is a duplicate too', async () => {
    const accept = acceptDeps(t);
    await acceptEvent(accept, event(listed, true));
    expect(await acceptEvent(accept, event(delivered, true))).toMatchObject({
      duplicate: true,
      conflict: false,
    });
  });
});

/** What the accept path needs, on a test app's Redis, prefix and queues (what the reconciler gives it). */
const acceptDeps = (t: TestApp): AcceptDeps => ({
  redis: t.redis,
  keys: t.keys,
  queues: t.queues,
  retry: t.config,
  log: createLogger({ LOG_LEVEL: 'silent', LOG_FORMAT: 'json' }, 'accept-test'),
});
