import type { EventEmitter } from 'node:events';
import { Cluster } from 'ioredis';
import type { RedisClient } from './redis.ts';

/**
 * Durability beyond one server. Redis replicates asynchronously: when a primary dies, the writes
 * of its last moments are gone from the replica that takes over. `WAIT n timeout`, sent on the
 * connection that wrote, returns once n replicas hold every write that connection made (and, the
 * replication stream being ordered, everything written before them).
 *
 * A WAIT answers only for the connection it is sent on. After a reconnect — the client re-sends
 * what was in flight, and a failover may have moved it to a promoted replica — a WAIT covers
 * nothing written before it: the new connection has written nothing, and WAIT returns at once.
 * So the caller takes a `replicationMark` before it writes, and a connection closed since then
 * makes the answer 0 ("not replicated"), whatever the WAIT said.
 *
 * On a cluster, `keys` name what was written: WAIT goes to each shard that holds one of them.
 * Returns the fewest replicas that acknowledged, over those shards.
 */
export async function replicasHolding(
  redis: RedisClient,
  replicas: number,
  timeoutMs: number,
  keys: string[],
  since: ReplicationMark,
): Promise<number> {
  let acked: number;
  if (!(redis instanceof Cluster)) acked = Number(await redis.call('WAIT', replicas, timeoutMs));
  else {
    const nodes = new Set(keys.map((key) => nodeOf(redis, key)).filter((n) => n !== undefined));
    const each = await Promise.all(
      [...nodes].map(async (n) => Number(await n.call('WAIT', replicas, timeoutMs))),
    );
    acked = each.length > 0 ? Math.min(...each) : 0;
  }
  return replicationMark(redis) === since ? acked : 0;
}

/** How many times the client's connections closed so far: see `replicasHolding`. */
export type ReplicationMark = number;

const closes = new WeakMap<object, { n: number }>();

export function replicationMark(redis: RedisClient): ReplicationMark {
  const known = closes.get(redis);
  if (known) return known.n;
  const counter = { n: 0 };
  closes.set(redis, counter);
  const bump = () => {
    counter.n++;
  };
  if (redis instanceof Cluster) {
    // Any node's connection: the shards a WAIT goes to change with failovers and slot moves.
    const watch = (node: EventEmitter) => node.on('close', bump);
    for (const node of redis.nodes()) watch(node);
    redis.on('+node', (node: EventEmitter) => {
      bump();
      watch(node);
    });
    redis.on('-node', bump);
  } else redis.on('close', bump);
  return 0;
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

const slotTags: string[] = [];

/**
 * A short hash tag for each cluster slot: a key wrapped around `{slotTag(s)}` lands in slot `s`,
 * whatever characters the keys it must sit beside contain (`a{}b{c}`, `x}y`: their own tag could
 * not be copied into another key).
 */
export function slotTag(slot: number): string {
  if (slotTags.length === 0) {
    let found = 0;
    for (let n = 0; found < 16384; n++) {
      const tag = n.toString(36);
      const s = keySlot(tag);
      if (slotTags[s] === undefined) {
        slotTags[s] = tag;
        found++;
      }
    }
  }
  return slotTags[slot] as string;
}
