import { EVENT_FIELDS, keySlot } from '@oncehook/shared';
import { afterEach, describe, expect, it } from 'vitest';
import { createTestEngine, type TestEngine } from '../testing/engine.ts';
import { defineWorkflow } from './define-workflow.ts';
import { commitStep } from './step-commit.ts';
import { StepWriteBuffer } from './step-writes.ts';

/**
 * On a Redis Cluster a step's own writes live in another slot than its event's record: they commit
 * beside a commit record of their own. The same Redis, seen by the engine as a cluster, shows what
 * the commit record must be: per generation of the event, in the writes' slot whatever their keys
 * look like, and never written by a run that is no longer the event's.
 */
type Services = { key: string; applied: number };
const bump = defineWorkflow<Services>('bump', { source: 'demo', type: 'bump' }).step('add', (_e, ctx) => {
  ctx.services.applied++;
  ctx.writes.hincrby(ctx.services.key, 'n', 1);
  return { ok: true };
});

let t: TestEngine;
let services: Services;
afterEach(async () => {
  await t?.close();
});

async function setup() {
  services = { key: '', applied: 0 };
  t = await createTestEngine([bump], () => services);
  services.key = `${t.config.QUEUE_PREFIX}:counter:{c}`;
  const real = t.engine.redis;
  t.engine.redis = new Proxy(real, {
    get: (target, prop) => {
      if (prop === 'isCluster') return true;
      const value = Reflect.get(target, prop, target);
      return typeof value === 'function' ? value.bind(target) : value;
    },
  });
}

describe('a step commit on a cluster', () => {
  it('is per generation: a newer delivery of the same id applies its writes again', async () => {
    await setup();
    const first = await t.acceptEvent('evt_gen', {}, { type: 'bump' });
    expect(await t.run(first.job)).toMatchObject({ outcome: 'completed' });
    // The record expired; the provider sends the id again, later: a new generation.
    await t.redis.del(t.keys.event(first.tag));
    await new Promise((r) => setTimeout(r, 5));
    const second = await t.acceptEvent('evt_gen', {}, { type: 'bump' });
    expect(second.receivedAt).not.toBe(first.receivedAt);
    expect(await t.run(second.job)).toMatchObject({ outcome: 'completed' });
    expect(await t.redis.hget(services.key, 'n')).toBe('2');
  });

  it('is never written by a run whose event has a newer generation (superseded)', async () => {
    await setup();
    const old = await t.acceptEvent('evt_old', {}, { type: 'bump' });
    // A newer generation took the record over while the old job still ran.
    await t.redis.hset(t.keys.event(old.tag), 'receivedAt', String(old.receivedAt + 1));
    await t.redis.hset(t.keys.event(old.tag), EVENT_FIELDS.runState('bump'), 'processing');
    const writes = new StepWriteBuffer();
    writes.hincrby(services.key, 'n', 1);
    const committed = await commitStep(t.engine.redis, t.keys, old.tag, {
      gen: old.receivedAt,
      workflow: 'bump',
      step: 'add',
      resultJson: '{}',
      finish: { completed: Date.now() + 60_000, failed: Date.now() + 60_000 },
      writes: writes.batch('add'),
      commitRecordUntil: Date.now() + 60_000,
    });
    expect(committed).toEqual({ kind: 'superseded' });
    expect(await t.redis.exists(services.key)).toBe(0);
  });

  it('lands in the slot of its writes, whatever braces their keys hold', async () => {
    await setup();
    for (const key of ['a{}b{c}', 'x}y', '{}', 'plain', 'p:{tag}:q']) {
      const writes = new StepWriteBuffer();
      writes.hset(key, 'f', 'v');
      const batch = writes.batch('s');
      const commit = t.keys.stepCommit(batch?.slot as number, 'demo.ZQ', 1, 'wf', 's');
      expect({ key, slot: keySlot(commit) }).toEqual({ key, slot: keySlot(key) });
    }
  });
});
