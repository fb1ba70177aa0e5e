import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { eventJobSchema } from '@oncehook/shared';
import { ROOT } from '@oncehook/testing';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { docsOf } from '../../../../scripts/provider-docs.ts';
import { createTestApp, readJson, type TestApp } from '../testing/app.ts';
import { exampleOf, signerOf } from '../testing/deliveries.ts';
import { addressedTo, servedSource } from '../testing/providers.ts';
import type { ProviderModule } from '../verify/types.ts';
import { PROVIDER_LIST } from './registry.ts';

/**
 * One suite for every registered provider, through the real route and a real Redis, from nothing
 * but its module and its fixture: valid, tampered, wrong secret, each required header missing,
 * stale and future (where a timestamp is signed), rotation, duplicate, and a captured delivery
 * re-sent under a new id. (The same connection after each refusal: test/providers-keep-alive.)
 */
const NOW = 1_750_000_000_000;
const MINUTE = 60_000;
const providers = PROVIDER_LIST as readonly ProviderModule[];
// Two live secrets each (a rotation in progress); the second is the one providers sign with now.
const ENV = Object.fromEntries(
  providers.map((p) => [
    p.secretEnv[0],
    `${exampleOf(p.name).secret('previous')},${exampleOf(p.name).secret('current')}`,
  ]),
);

let now = NOW;
let t: TestApp;
beforeEach(async () => {
  now = NOW;
  t = await createTestApp(ENV, { now: () => now });
});
afterEach(async () => {
  await t.close();
});

describe.each(providers)('$name', (provider) => {
  const fixture = readFileSync(join(ROOT, 'fixtures', exampleOf(provider.name).fixture), 'utf8');
  const path = `/webhooks/${provider.name}`;
  const { url } = addressedTo(provider.name);
  let n = 0;
  /** A fresh event of this provider: its own body and id. */
  const fresh = () => exampleOf(provider.name).nth(fixture, ++n);
  const sign = (
    event: { body: string; id: string },
    { secret = exampleOf(provider.name).secret('current'), nowMs = now, id = event.id } = {},
  ) => signerOf(provider.name)({ body: event.body, secret, id, nowMs, url });
  const post = (body: string, headers: Record<string, string>) =>
    t.app.request(path, {
      method: 'POST',
      body,
      headers: { 'content-type': exampleOf(provider.name).contentType ?? 'application/json', ...headers },
    });
  const status = async (id: string) => {
    const res = await t.get(`/status/${provider.name}/${encodeURIComponent(id)}`);
    return res.status === 200 ? readJson(res) : null;
  };
  const nothingStored = async () => expect(await t.traces()).toEqual({ records: [], jobs: 0 });

  it('accepts a valid delivery once, under its id and type, with the payload as JSON', async () => {
    const event = fresh();
    const res = await post(event.body, await sign(event));
    expect(res.status).toBe(200);
    const job = eventJobSchema.parse((await t.jobOf(provider.name, event.id))?.data);
    expect(job).toMatchObject({
      source: provider.name,
      eventId: event.id,
      type: exampleOf(provider.name).type,
    });
    expect(() => JSON.parse(job.payload)).not.toThrow();
    expect(await status(event.id)).toMatchObject({ deliveries: 1, copies: 0 });
  });

  it('refuses a tampered body with 401 and stores nothing', async () => {
    const event = fresh();
    const res = await post(`${event.body} `, await sign(event));
    expect([res.status, (await readJson(res)).error?.code]).toEqual([401, 'invalid_signature']);
    await nothingStored();
  });

  it('refuses a delivery signed with a secret it does not hold', async () => {
    const event = fresh();
    const res = await post(
      event.body,
      await sign(event, { secret: exampleOf(provider.name).secret('stranger') }),
    );
    expect([res.status, (await readJson(res)).error?.code]).toEqual([401, 'invalid_signature']);
    await nothingStored();
  });

  it.each(docsOf(provider.name).requiredHeaders)(
    'refuses a delivery without %s and stores nothing',
    async (header) => {
      const event = fresh();
      const headers = await sign(event);
      const present = Object.keys(headers).filter((h) => h.toLowerCase() === header.toLowerCase());
      expect(present, `the signer sends ${header}`).toHaveLength(1);
      const { [present[0] as string]: _, ...without } = headers;
      const res = await post(event.body, without);
      expect([400, 401, 422]).toContain(res.status);
      await nothingStored();
    },
  );

  if (provider.timestamped) {
    it('refuses a delivery signed 6 minutes ago or 6 minutes ahead', async () => {
      const event = fresh();
      for (const skew of [-6 * MINUTE, 6 * MINUTE]) {
        const res = await post(event.body, await sign(event, { nowMs: now + skew }));
        expect([skew, res.status]).toEqual([skew, 401]);
      }
      await nothingStored();
    });
  } else {
    it('signs no timestamp: a day-old signature still verifies (replays are caught by dedupe)', async () => {
      const event = fresh();
      expect((await post(event.body, await sign(event, { nowMs: now - 24 * 60 * MINUTE }))).status).toBe(200);
    });
  }

  it('accepts either of two configured secrets (a rotation)', async () => {
    for (const label of ['previous', 'current']) {
      const event = fresh();
      const res = await post(
        event.body,
        await sign(event, { secret: exampleOf(provider.name).secret(label) }),
      );
      expect([label, res.status]).toEqual([label, 200]);
    }
    expect((await t.traces()).jobs).toBe(2);
  });

  it('answers a redelivery signed again a minute later as a duplicate: one job', async () => {
    const event = fresh();
    expect((await post(event.body, await sign(event))).status).toBe(200);
    now += MINUTE;
    const again = await post(event.body, await sign(event));
    expect(again.status).toBe(200);
    if (again.headers.get('content-type')?.includes('json')) {
      expect(await again.json()).toEqual({ received: true, duplicate: true });
    }
    expect((await t.traces()).jobs).toBe(1);
    expect(await status(event.id)).toMatchObject({ deliveries: 2 });
  });

  it('does not process a captured delivery again when it is re-sent under a new id', async () => {
    const event = fresh();
    const headers = await sign(event);
    const served = servedSource(provider.name, ENV);
    const verified = await served?.verify({
      ...addressedTo(provider.name),
      rawBody: Buffer.from(event.body),
      headers: new Headers({
        'content-type': exampleOf(provider.name).contentType ?? 'application/json',
        ...headers,
      }),
      nowMs: now,
    });
    const idUnsigned = verified?.ok && 'event' in verified && verified.event.idUnsigned === true;

    expect((await post(event.body, headers)).status).toBe(200);
    await t.startedByWorker(provider.name, event.id);
    // The capture, as sent, with only the header carrying the id changed.
    const newId = `${event.id}-captured`;
    const relabelled = Object.values(headers).includes(event.id);
    const copy = await post(
      event.body,
      Object.fromEntries(Object.entries(headers).map(([k, v]) => [k, v === event.id ? newId : v])),
    );
    expect((await t.traces()).jobs).toBe(1);
    expect(await t.jobOf(provider.name, newId)).toBeUndefined();
    expect(await status(newId)).toBeNull();
    if (idUnsigned) {
      // The id travels outside the signature: the signed body identifies the original.
      expect(copy.status).toBe(200);
      expect(await status(event.id)).toMatchObject({ deliveries: 1, copies: 1 });
    } else if (relabelled) {
      // The signature covers the id header.
      expect(copy.status).toBe(401);
    } else {
      // The id is in the signed body: the copy is the original, a plain duplicate.
      expect(copy.status).toBe(200);
      expect(await status(event.id)).toMatchObject({ deliveries: 2, copies: 0 });
    }
  });

  it('is not served without its secret (in production)', () => {
    expect(servedSource(provider.name, { NODE_ENV: 'production' })).toBeUndefined();
  });
});
