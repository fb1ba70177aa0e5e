import { type FakeApis, startFakeApis } from '@oncehook/testing';
import { createTestEngine, type TestEngine } from '@oncehook/worker/testing';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { parseDemoEnv } from '../env.ts';
import { demoKeys } from '../keys.ts';
import { createServices } from '../services/index.ts';
import { readDemoSubscription } from '../subscriptions.ts';
import { WORKFLOWS } from './registry.ts';

/**
 * The subscription mirror's stale guard: an event older than the version applied is skipped and
 * says so in /status; one created in the same second is resolved by asking the API.
 */
const T0 = 1_750_000_000;
const SUB = 'sub_mirror_1';
const event = (n: number, what: string, created: number, state: Record<string, unknown>) => ({
  id: `evt_m_${n}`,
  object: 'event',
  type: `customer.subscription.${what}`,
  created,
  data: { object: { id: SUB, object: 'subscription', ...state } },
});

let t: TestEngine;
const keys = () => demoKeys(t.config.QUEUE_PREFIX);
let fake: FakeApis;
beforeEach(async () => {
  fake = await startFakeApis();
  t = await createTestEngine(WORKFLOWS, (ctx) =>
    createServices(parseDemoEnv({ PAYMENTS_URL: fake.url }), ctx),
  );
});
afterEach(async () => {
  await t.close();
  await fake.close();
});

async function run(body: ReturnType<typeof event>) {
  const accepted = await t.acceptEvent(body.id, body, {
    source: 'stripe',
    type: body.type,
    order: { key: SUB, at: body.created * 1000 },
  });
  expect(await t.run(accepted.job)).toMatchObject({ outcome: 'completed' });
  return (await t.status(body.id, 'stripe'))?.steps.find((s) => s.name === 'apply')?.result;
}
const mirror = () => readDemoSubscription(t.redis, keys(), SUB);

describe('subscription-mirror', () => {
  it('applies newer snapshots, skips an older event as stale, and asks Stripe on a tie', async () => {
    expect(await run(event(1, 'created', T0, { status: 'incomplete', current_period_end: T0 + 99 }))).toEqual(
      {
        applied: 'snapshot',
        version: T0 * 1000,
        status: 'incomplete',
      },
    );
    await run(event(3, 'deleted', T0 + 2, { status: 'canceled', cancel_at: T0 + 2 }));
    // A late update (older than the deletion) never undoes it.
    expect(await run(event(2, 'updated', T0 + 1, { status: 'active' }))).toEqual({
      skipped: 'stale',
      version: (T0 + 1) * 1000,
      applied: (T0 + 2) * 1000,
    });
    expect(await mirror()).toMatchObject({
      status: 'canceled',
      cancel_at: T0 + 2,
      seen: 3,
      event: 'evt_m_3',
    });

    // Same second as the deletion: the snapshot cannot be trusted either way; Stripe is asked.
    fake.subscriptions.set(SUB, {
      id: SUB,
      status: 'canceled',
      current_period_end: T0 + 99,
      cancel_at: T0 + 2,
    });
    expect(await run(event(4, 'updated', T0 + 2, { status: 'active' }))).toMatchObject({
      applied: 'fetched',
      status: 'canceled',
    });
    expect(fake.calls).toContain(`GET /v1/subscriptions/${SUB}`);
    expect(await mirror()).toEqual({
      id: SUB,
      status: 'canceled',
      current_period_end: T0 + 99,
      cancel_at: T0 + 2,
      version: (T0 + 2) * 1000,
      event: 'evt_m_4',
      seen: 4,
    });
  });
});
