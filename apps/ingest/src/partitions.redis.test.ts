import { eventTag, partitionIndex } from '@oncehook/shared';
import { randomPrefix } from '@oncehook/testing';
import { afterEach, describe, expect, it } from 'vitest';
import { createTestApp, readJson, type TestApp } from './testing/app.ts';

const apps: TestApp[] = [];
afterEach(async () => {
  // The first app made the prefix; closing it last deletes every key of both.
  for (const app of apps.splice(0).reverse()) await app.close();
});
const open = async (env: Record<string, string>) => {
  const app = await createTestApp(env);
  apps.push(app);
  return app;
};

describe('the ingest over queue partitions', () => {
  it('enqueues each event in its own partition, where /status finds its job', async () => {
    const t = await open({ QUEUE_PARTITIONS: '3' });
    const ids = Array.from({ length: 12 }, (_, i) => `evt_part_${i}`);
    for (const id of ids) expect((await t.post('/webhook', { event_id: id })).status).toBe(200);
    for (const id of ids) expect((await t.post('/webhook', { event_id: id })).status).toBe(200);

    const perPartition = await Promise.all(t.queues.current().map((p) => p.events.getWaitingCount()));
    expect(perPartition.reduce((a, b) => a + b)).toBe(ids.length);
    for (const id of ids) {
      const tag = eventTag('demo', id);
      const { events } = t.queues.pair(partitionIndex(tag, 3), 3);
      expect((await events.getJobs(['waiting'])).some((j) => j.data.eventId === id)).toBe(true);
      expect(await t.redis.hget(t.keys.event(tag), 'q')).toBe('3');
      expect(await readJson(await t.get(`/status/${id}`))).toMatchObject({
        state: 'queued',
        deliveries: 2,
      });
    }
    expect(perPartition.filter((n) => n > 0).length).toBe(3);
  });

  it('keeps a pending event in the layout it was first enqueued under after QUEUE_PARTITIONS changed', async () => {
    const prefix = randomPrefix();
    const before = await open({ QUEUE_PREFIX: prefix, QUEUE_PARTITIONS: '1' });
    expect((await before.post('/webhook', { event_id: 'evt_moved' })).status).toBe(200);

    // Restarted with 3 partitions: the re-delivery finds the record pending (no worker had it)
    // and enqueues again: into the partition its job is in, where the job id makes it a no-op.
    const after = await open({ QUEUE_PREFIX: prefix, QUEUE_PARTITIONS: '3' });
    const again = await after.post('/webhook', { event_id: 'evt_moved' });
    expect(await readJson(again)).toMatchObject({ duplicate: true });
    const waiting = await Promise.all(after.queues.current().map((p) => p.events.getWaitingCount()));
    expect(waiting).toEqual([0, 0, 0]);
    expect(await before.queue.getWaitingCount()).toBe(1);
    expect(await readJson(await after.get('/status/evt_moved'))).toMatchObject({
      state: 'queued',
      deliveries: 2,
    });
    expect(await after.redis.hexists(after.keys.event(eventTag('demo', 'evt_moved')), 'q')).toBe(0);
  });
});
