import { createHash } from 'node:crypto';

/**
 * A seeded PRNG (mulberry32). Each part of a run draws from its own stream (`random(seed,
 * 'faults')`, `random(seed, 'load')`), so that a change to how the load is drawn leaves the fault
 * schedule of a seed as it was.
 */
export function random(seed: number, stream: string) {
  let state = createHash('sha256').update(`${seed}/${stream}`).digest().readUInt32LE(0);
  const next = () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const rng = {
    next,
    /** A float in [min, max). */
    between: (min: number, max: number) => min + next() * (max - min),
    /** An integer in [min, max]. */
    int: (min: number, max: number) => min + Math.floor(next() * (max - min + 1)),
    chance: (p: number) => next() < p,
    pick<T>(items: readonly T[]): T {
      if (items.length === 0) throw new Error('pick from nothing');
      return items[Math.floor(next() * items.length)] as T;
    },
    /** One of `weights`' keys, each as likely as its weight. */
    weighted<K extends string>(weights: Partial<Record<K, number>>): K {
      const entries = Object.entries(weights) as [K, number][];
      let at = next() * entries.reduce((sum, [, w]) => sum + w, 0);
      for (const [key, w] of entries) {
        at -= w;
        if (at < 0) return key;
      }
      return (entries.at(-1) as [K, number])[0];
    },
    shuffle<T>(items: T[]): T[] {
      for (let i = items.length - 1; i > 0; i--) {
        const j = Math.floor(next() * (i + 1));
        [items[i], items[j]] = [items[j] as T, items[i] as T];
      }
      return items;
    },
  };
  return rng;
}

export type Random = ReturnType<typeof random>;
