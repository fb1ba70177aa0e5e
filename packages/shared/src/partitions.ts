import { type ConnectionOptions, Queue } from 'bullmq';
import type { BaseEnv } from './env.ts';
import type { Keys } from './keys.ts';
import { QUEUES } from './queues.ts';
import type { RedisClient } from './redis.ts';
import { keySlot } from './replicas.ts';

/**
 * Queue partitions: QUEUE_PARTITIONS copies of the `events` and `workflows` queues, each under a
 * BullMQ prefix of its own. Every key of a BullMQ queue shares its prefix's hash tag (one Redis
 * Cluster slot, so one master); partitions with different tags are what lets the queues' load
 * spread over a cluster's masters.
 *
 * An event's partition is CRC16(tag) mod the partition count: every delivery of one event meets
 * the same queue, and its fan-out to `workflows` stays in that partition. The count an event was
 * first enqueued under is kept in its record (`q`, only when it is not 1), so that a re-delivery,
 * /status and a replay find its job even after QUEUE_PARTITIONS changed; the counts ever used are
 * kept in a set (`keys.queueLayouts`) so that workers drain partitions no longer configured.
 */
export const MAX_PARTITIONS = 16;

export interface Partition {
  index: number;
  /** How many partitions its layout has (QUEUE_PARTITIONS when it was written). */
  count: number;
  /** BullMQ's prefix, braced: a Redis Cluster hash tag. */
  prefix: string;
  /** "p1of3": the second of three (indexes count from 0, as WORKER_PARTITIONS does). */
  label: string;
}

const SLOTS = 16384;
const prefixes = new Map<string, string>();

/**
 * One partition count is one layout. With one partition the prefix is `{QUEUE_PREFIX}`, as
 * without partitions. With n, partition i's hash tag is picked (by a numbered suffix) so that its
 * slot lies in the middle half of the i-th n-th of the slot range: a cluster whose masters split
 * the slots evenly (what `redis-cli --cluster create` and managed services do) then puts n
 * partitions on min(n, masters) different masters.
 */
export function partitionPrefix(queuePrefix: string, index: number, count: number): string {
  if (count === 1) return `{${queuePrefix}}`;
  const memo = `${queuePrefix} ${index} ${count}`;
  const known = prefixes.get(memo);
  if (known) return known;
  const width = SLOTS / count;
  const low = index * width + width / 4;
  const high = index * width + (3 * width) / 4;
  for (let salt = 0; ; salt++) {
    const tag = `${queuePrefix}:p${index}of${count}:${salt}`;
    const slot = keySlot(tag);
    if (slot >= low && slot < high) {
      prefixes.set(memo, `{${tag}}`);
      return `{${tag}}`;
    }
  }
}

export function partition(queuePrefix: string, index: number, count: number): Partition {
  return { index, count, prefix: partitionPrefix(queuePrefix, index, count), label: `p${index}of${count}` };
}

/** Every partition of a layout. */
export const layout = (queuePrefix: string, count: number): Partition[] =>
  Array.from({ length: count }, (_, i) => partition(queuePrefix, i, count));

/** The partition of an event (by its tag) in a layout of `count` partitions. */
export const partitionIndex = (tag: string, count: number) => (count === 1 ? 0 : keySlot(tag) % count);

/**
 * The layouts (partition counts) ever used under this prefix: the current one, 1 (what every
 * system ran before it had partitions, announced or not), and every one a process announced.
 */
export async function knownLayouts(redis: RedisClient, keys: Keys, current: number): Promise<number[]> {
  // SADD before reading: a process announces its layout so that the others drain it if it changes.
  await redis.sadd(keys.queueLayouts, current);
  const counts = (await redis.smembers(keys.queueLayouts)).map(Number);
  return [...new Set([current, 1, ...counts])].filter(
    (n) => Number.isInteger(n) && n >= 1 && n <= MAX_PARTITIONS,
  );
}

export interface QueuePair {
  partition: Partition;
  events: Queue;
  workflows: Queue;
}

/**
 * The Queue objects of every partition an app touches, created on first use: the current
 * layout's at once, an older layout's when an event or a drain needs them.
 */
export function openQueues(
  config: Pick<BaseEnv, 'QUEUE_PREFIX' | 'QUEUE_PARTITIONS'>,
  connection: ConnectionOptions,
  onError: (err: Error) => void = () => {},
) {
  const pairs = new Map<string, QueuePair>();
  const pair = (index: number, count: number): QueuePair => {
    const id = `${index}/${count}`;
    let found = pairs.get(id);
    if (!found) {
      const p = partition(config.QUEUE_PREFIX, index, count);
      // skipVersionCheck: BullMQ runs its version check (INFO) once per Queue, and if that one
      // command fails (a user without @dangerous, where INFO lives; Redis dying at that instant)
      // the Queue rejects every add until the process restarts. Without it the Queue only waits
      // for the connection, which reconnects by itself.
      const options = { connection, prefix: p.prefix, skipVersionCheck: true };
      found = {
        partition: p,
        events: new Queue(QUEUES.events, options),
        workflows: new Queue(QUEUES.workflows, options),
      };
      found.events.on('error', onError);
      found.workflows.on('error', onError);
      pairs.set(id, found);
    }
    return found;
  };
  const current = () =>
    layout(config.QUEUE_PREFIX, config.QUEUE_PARTITIONS).map((p) => pair(p.index, p.count));
  current();

  return {
    /** QUEUE_PARTITIONS: the current layout. */
    count: config.QUEUE_PARTITIONS,
    /** The current layout's partitions. */
    current,
    /** The partition of one event, in the layout it was enqueued under (its record's `q`). */
    forEvent: (tag: string, count: number = config.QUEUE_PARTITIONS) =>
      pair(partitionIndex(tag, count), count),
    /** A partition of any layout. */
    pair,
    /** Every Queue opened so far, for the dashboard and the metrics. */
    all: () => [...pairs.values()].flatMap((p) => [p.events, p.workflows]),
    pairs: () => [...pairs.values()],
    async close() {
      await Promise.allSettled([...pairs.values()].flatMap((p) => [p.events.close(), p.workflows.close()]));
    },
  };
}

export type PartitionedQueues = ReturnType<typeof openQueues>;

/**
 * The partitions of an older layout that still hold jobs (in any state: a failed job is a dead
 * letter to show and replay). Empty ones are not opened.
 */
export async function partitionsHoldingJobs(
  queues: PartitionedQueues,
  connection: ConnectionOptions,
  queuePrefix: string,
  count: number,
): Promise<Partition[]> {
  const holding: Partition[] = [];
  for (const p of layout(queuePrefix, count)) {
    for (const name of [QUEUES.events, QUEUES.workflows]) {
      // skipMetasUpdate: a probe must not write the queue's meta key where there is no queue.
      const probe = new Queue(name, {
        connection,
        prefix: p.prefix,
        skipVersionCheck: true,
        skipMetasUpdate: true,
      });
      const counts = await probe.getJobCounts().finally(() => probe.close());
      if (Object.values(counts).some((n) => n > 0)) {
        holding.push(p);
        queues.pair(p.index, p.count);
        break;
      }
    }
  }
  return holding;
}
