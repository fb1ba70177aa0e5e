import { describe, expect, it } from 'vitest';
import { eventTag } from './event-tag.ts';
import { layout, MAX_PARTITIONS, partitionIndex, partitionPrefix } from './partitions.ts';
import { keySlot } from './replicas.ts';

describe('queue partitions', () => {
  it('keeps one partition where queues always were: {QUEUE_PREFIX}', () => {
    expect(partitionPrefix('oncehook', 0, 1)).toBe('{oncehook}');
    expect(layout('oncehook', 1).map((p) => p.label)).toEqual(['p0of1']);
  });

  it('places partition i of n in the middle of the i-th n-th of the slots: n masters, n partitions, one each', () => {
    for (let count = 2; count <= MAX_PARTITIONS; count++) {
      const width = 16384 / count;
      for (const p of layout('oncehook', count)) {
        const slot = keySlot(p.prefix);
        expect(Math.floor(slot / width), `${p.label} at slot ${slot}`).toBe(p.index);
        expect(slot % width).toBeGreaterThanOrEqual(width / 4);
        expect(slot % width).toBeLessThan((3 * width) / 4);
      }
      expect(new Set(layout('oncehook', count).map((p) => p.prefix)).size).toBe(count);
    }
  });

  it('3 masters as redis-cli --cluster create splits them (0-5460, 5461-10922, 10923-16383): 3 partitions on 3', () => {
    const master = (slot: number) => (slot <= 5460 ? 0 : slot <= 10922 ? 1 : 2);
    expect(layout('oncehook', 3).map((p) => master(keySlot(p.prefix)))).toEqual([0, 1, 2]);
    expect(layout('other-prefix', 3).map((p) => master(keySlot(p.prefix)))).toEqual([0, 1, 2]);
  });

  it('sends every delivery of one event to one partition, and spreads events evenly', () => {
    const counts = [0, 0, 0];
    for (let i = 0; i < 3000; i++) {
      const tag = eventTag('stripe', `evt_${i}`);
      const index = partitionIndex(tag, 3);
      expect(partitionIndex(tag, 3)).toBe(index);
      counts[index] = (counts[index] ?? 0) + 1;
    }
    for (const n of counts) expect(n).toBeGreaterThan(800);
    expect(partitionIndex(eventTag('stripe', 'evt_1'), 1)).toBe(0);
  });
});
