import { startTestRedis, type TestRedis } from '@oncehook/testing';
import type { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createRedis, waitForRedis } from './redis.ts';

/**
 * ioredis ends a Sentinel client for good when a failover is announced while the client is still
 * connecting after an earlier one: its connector throws "Connection is closed." and the client
 * stops reconnecting. The test makes the connector throw that once, as the race does; the client
 * must come back by itself, and stay closed only when the process closed it.
 */
describe('a client ioredis gave up on', () => {
  let server: TestRedis;
  beforeAll(async () => {
    server = await startTestRedis();
  });
  afterAll(() => server?.stop());

  for (const kind of ['patient', 'fail-fast'] as const) {
    it(`connects again (${kind}); one the process disconnected stays closed`, async () => {
      const client = createRedis({ REDIS_URL: server.url }, kind) as Redis;
      await waitForRedis(client);
      // ioredis's own connector: what the Sentinel race makes it do, once.
      const connector = (client as unknown as { connector: { connect: (...a: unknown[]) => unknown } })
        .connector;
      const connect = connector.connect.bind(connector);
      connector.connect = async () => {
        connector.connect = connect;
        throw new Error('Connection is closed.');
      };
      client.disconnect(true); // the connection dropped: ioredis reconnects, its connector throws
      await expect.poll(() => client.status).toBe('end');
      await expect.poll(() => client.status, { timeout: 5_000 }).toBe('ready');
      expect(await client.ping()).toBe('PONG');

      client.disconnect();
      await expect.poll(() => client.status).toBe('end');
      await new Promise((r) => setTimeout(r, 1_500));
      expect(client.status).toBe('end');
    });
  }
});
