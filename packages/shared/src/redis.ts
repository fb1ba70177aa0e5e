import { Cluster, Redis, type RedisOptions } from 'ioredis';
import type { BaseEnv } from './env.ts';

export type RedisClient = Redis | Cluster;

/**
 * Two kinds of connection, because the two apps fail differently:
 *
 * - `fail-fast` (ingest): no offline queue and short timeouts, so that while Redis is unreachable
 *   a delivery is refused with 503 in well under a provider's 3-10 s timeout instead of waiting
 *   in a client-side queue. It keeps reconnecting in the background and recovers by itself.
 * - `patient` (worker, BullMQ `Worker`): BullMQ requires `maxRetriesPerRequest: null` for blocking
 *   connections; commands wait for the reconnect rather than failing a job because Redis blinked.
 */
export type ConnectionKind = 'fail-fast' | 'patient';

const RECONNECT: RedisOptions['retryStrategy'] = (times) => Math.min(100 * 2 ** times, 1000);

function optionsFor(kind: ConnectionKind, name: string): RedisOptions {
  const common: RedisOptions = { connectionName: name, retryStrategy: RECONNECT, lazyConnect: false };
  if (kind === 'fail-fast') {
    return {
      ...common,
      enableOfflineQueue: false,
      maxRetriesPerRequest: 0,
      connectTimeout: 1000,
      commandTimeout: 1500,
      // commandTimeout only fails the command; the connection stays. If it died silently (a NAT
      // or firewall forgot it, the host vanished: no FIN, no RST), every later command would time
      // out on it too until the kernel gives up, ~15 min. With no reply for this long while
      // commands wait, drop the socket and reconnect.
      socketTimeout: 3000,
    };
  }
  return { ...common, maxRetriesPerRequest: null, connectTimeout: 5000 };
}

const hostPort = (node: string) => {
  const [host, port] = node.split(':');
  return { host: host ?? '127.0.0.1', port: Number(port) };
};

/** One Redis (REDIS_URL), a Sentinel-managed primary (REDIS_SENTINELS), or a cluster. */
export function createRedis(
  config: Pick<BaseEnv, 'REDIS_URL'> &
    Partial<Pick<BaseEnv, 'REDIS_CLUSTER_NODES' | 'REDIS_SENTINELS' | 'REDIS_SENTINEL_NAME'>>,
  kind: ConnectionKind,
  name = `oncehook-${kind}`,
): RedisClient {
  return keepConnecting(client(config, optionsFor(kind, name)));
}

function client(config: Parameters<typeof createRedis>[0], options: RedisOptions): RedisClient {
  if (config.REDIS_SENTINELS && config.REDIS_SENTINEL_NAME) {
    // The sentinels say which server is the primary now; after a failover the client asks them
    // again (and, with failoverDetector, hears of it from them at once).
    const url = new URL(config.REDIS_URL);
    return new Redis({
      ...options,
      sentinels: config.REDIS_SENTINELS.map(hostPort),
      name: config.REDIS_SENTINEL_NAME,

      failoverDetector: true,
      sentinelRetryStrategy: (times: number) => Math.min(100 * 2 ** times, 1000),
      role: 'master' as const,
      ...(url.username ? { username: decodeURIComponent(url.username) } : {}),
      ...(url.password ? { password: decodeURIComponent(url.password) } : {}),
    });
  }
  if (config.REDIS_CLUSTER_NODES) {
    const nodes = config.REDIS_CLUSTER_NODES.map(hostPort);
    return new Cluster(nodes, {
      redisOptions: options,
      enableOfflineQueue: options.enableOfflineQueue ?? true,
      clusterRetryStrategy: RECONNECT,
    });
  }
  return new Redis(config.REDIS_URL, options);
}

/**
 * ioredis gives a client up for good in one race: a Sentinel failover announced while the client
 * was still connecting after an earlier one makes its connector throw "Connection is closed.", and
 * the client ends instead of reconnecting. A process whose client ended serves nothing until it
 * is restarted (a worker so stopped taking jobs after two failovers in a row). So an end that is
 * not the process's own disconnect() or quit() is followed by a new connect.
 */
function keepConnecting<C extends RedisClient>(client: C): C {
  let closing = false;
  const disconnect = client.disconnect.bind(client);
  const quit = client.quit.bind(client);
  client.disconnect = (reconnect?: boolean) => {
    closing ||= !reconnect;
    disconnect(reconnect);
  };
  client.quit = (...args: Parameters<typeof quit>) => {
    closing = true;
    return quit(...args);
  };
  client.on('end', () => {
    if (closing) return;
    setTimeout(() => {
      if (!closing && client.status === 'end') client.connect().catch(() => {});
    }, 1000).unref();
  });
  return client;
}

/** Resolves once the client is ready, or rejects after `timeoutMs`. */
export async function waitForRedis(client: RedisClient, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      if (client.status === 'ready') {
        await client.ping();
        return;
      }
    } catch {}
    if (Date.now() > deadline) throw new Error(`Redis not reachable after ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 100));
  }
}
