import { startTestRedis, type TestRedis, waitFor } from '@oncehook/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createRedis, type RedisClient, waitForRedis } from './redis.ts';
import { replicasHolding, replicationMark } from './replicas.ts';

/**
 * A WAIT answers for the connection it is sent on. A primary with one replica: a write then a
 * WAIT on one connection is acknowledged; once that connection closed between the write and the
 * WAIT's answer (a failover moves the client to another server, which has none of it), the answer
 * is 0 whatever the new connection's WAIT says — it has written nothing, and returns at once.
 */
describe('replicas holding a write', () => {
  let primary: TestRedis;
  let replica: TestRedis;
  let redis: RedisClient;
  beforeAll(async () => {
    primary = await startTestRedis();
    replica = await startTestRedis({ args: ['--replicaof', '127.0.0.1', String(primary.port)] });
    await waitFor(() => replica.cli('INFO', 'replication').includes('master_link_status:up'), 10_000);
    redis = createRedis({ REDIS_URL: primary.url }, 'patient');
    await waitForRedis(redis);
  });
  afterAll(() => {
    redis?.disconnect();
    replica?.stop();
    primary?.stop();
  });

  it('counts a write the replica acknowledged', async () => {
    const since = replicationMark(redis);
    await redis.set('k1', 'v');
    expect(await replicasHolding(redis, 1, 1000, ['k1'], since)).toBe(1);
  });

  it('counts nothing once the connection that wrote was closed before the answer', async () => {
    const since = replicationMark(redis);
    await redis.set('k2', 'v');
    const id = String(await redis.client('ID'));
    primary.cli('CLIENT', 'KILL', 'ID', id);
    await waitFor(async () => (await redis.ping().catch(() => '')) === 'PONG', 10_000);
    // The new connection's own WAIT would say 1: it has nothing to wait for.
    expect(Number(await redis.call('WAIT', 1, 1000))).toBe(1);
    expect(await replicasHolding(redis, 1, 1000, ['k2'], since)).toBe(0);
    // A write after the reconnect, with a mark taken after it, counts again.
    const again = replicationMark(redis);
    await redis.set('k3', 'v');
    expect(await replicasHolding(redis, 1, 1000, ['k3'], again)).toBe(1);
  });
});
