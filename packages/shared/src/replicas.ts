import { Cluster } from 'ioredis';
import type { RedisClient } from './redis.ts';

/**
 * Durability beyond one server. Redis replicates asynchronously: when a primary dies, the writes
 * of its last moments are gone from the replica that takes over. `WAIT n timeout`, sent on the
 * connection that wrote, returns once n replicas hold every write that connection made (and, the
 * replication stream being ordered, everything written before them).
 *
 * On a cluster, `keys` name what was written: WAIT goes to each shard that holds one of them.
 * Returns the fewest replicas that acknowledged, over those shards.
 */
export async function replicasHolding(
  redis: RedisClient,
  replicas: number,
  timeoutMs: number,
  keys: string[] = [],
): Promise<number> {
  if (!(redis instanceof Cluster)) return Number(await redis.call('WAIT', replicas, timeoutMs));
  const nodes = new Set(keys.map((key) => nodeOf(redis, key)).filter((n) => n !== undefined));
  const acked = await Promise.all(
    [...nodes].map(async (n) => Number(await n.call('WAIT', replicas, timeoutMs))),
  );
  return acked.length > 0 ? Math.min(...acked) : 0;
}

type Node = { call(...args: (string | number)[]): Promise<unknown> };

// ioredis routes keyed commands by slot, but WAIT has no key: find the primary of the key's slot.
function nodeOf(cluster: Cluster, key: string): Node | undefined {
  const internal = cluster as unknown as {
    slots: string[][];
    connectionPool: { getInstanceByKey(key: string): Node | undefined };
  };
  const slot = keySlot(key);
  const primary = internal.slots[slot]?.[0];
  return primary ? internal.connectionPool.getInstanceByKey(primary) : undefined;
}

/** Redis Cluster's hash slot of a key: CRC16 of its hash tag (or the whole key) mod 16384. */
export function keySlot(key: string): number {
  const open = key.indexOf('{');
  let part = key;
  if (open !== -1) {
    const close = key.indexOf('}', open + 1);
    if (close > open + 1) part = key.slice(open + 1, close);
  }
  let crc = 0;
  for (const byte of Buffer.from(part)) {
    crc ^= byte << 8;
    for (let i = 0; i < 8; i++) crc = crc & 0x8000 ? ((crc << 1) ^ 0x1021) & 0xffff : (crc << 1) & 0xffff;
  }
  return crc % 16384;
}

/**
 * What /readyz reports: replicas of the primary (of each cluster primary: the fewest) that are
 * online, or null if INFO is denied. A replica still in its first full sync is connected but
 * cannot acknowledge a WAIT yet, so it does not count.
 */
export async function connectedReplicas(redis: RedisClient): Promise<number | null> {
  const nodes = redis instanceof Cluster ? redis.nodes('master') : [redis];
  const counts = await Promise.all(
    nodes.map(async (node) => {
      const info = String(await node.info('replication').catch(() => ''));
      if (!/connected_slaves:\d+/.test(info)) return null;
      return info.match(/^slave\d+:.*state=online/gm)?.length ?? 0;
    }),
  );
  if (counts.some((c) => c === null)) return null;
  return Math.min(...(counts as number[]));
}
