import {
  type BaseEnv,
  type RedisClient,
  type ReplicationMark,
  replicasHolding,
  replicationMark,
} from '@oncehook/shared';
import { NotReplicatedError } from './errors.ts';

/**
 * With ACK_REPLICAS, what a job wrote must be on that many replicas before the job goes on to its
 * next effect or completes: a failover then cannot make the worker forget a step whose effect
 * happened, a lane it released, an event it parked or fanned out. A fence is one job attempt's:
 * it remembers the keys the attempt wrote (on a cluster, WAIT goes to each of their shards) and
 * the connection's state when it began — a reconnect since then means "not replicated", whatever
 * a WAIT says (replicas.ts).
 */
export interface Fence {
  /** The attempt wrote these keys. */
  touch(...keys: string[]): void;
  /** Waits until every key touched so far is on ACK_REPLICAS replicas; else NotReplicatedError. */
  wait(what: string): Promise<void>;
}

export function createFence(
  redis: RedisClient,
  env: Partial<Pick<BaseEnv, 'ACK_REPLICAS' | 'ACK_REPLICA_TIMEOUT_MS'>>,
): Fence {
  const replicas = env.ACK_REPLICAS ?? 0;
  if (replicas === 0) return { touch() {}, async wait() {} };
  const timeout = env.ACK_REPLICA_TIMEOUT_MS ?? 500;
  const since: ReplicationMark = replicationMark(redis);
  const touched = new Set<string>();
  return {
    touch(...keys) {
      for (const key of keys) touched.add(key);
    },
    async wait(what) {
      const acked = await replicasHolding(redis, replicas, timeout, [...touched], since);
      if (acked < replicas)
        throw new NotReplicatedError(`${what}: on ${acked} of ${replicas} replicas after ${timeout} ms`);
    },
  };
}
