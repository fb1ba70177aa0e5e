import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { createRedis, type RedisClient } from '@oncehook/shared';
import { sleep, startSentinelSet, startTestCluster, waitFor } from '@oncehook/testing';

export type Mode = 'sentinel' | 'cluster';

/**
 * The Redis a chaos run stands on, and the faults it can suffer.
 *
 * sentinel: a primary, two replicas and three sentinels (startSentinelSet), ACK_REPLICAS=1. The
 * primary (whichever server it is now) can be killed -9, optionally after its replication stalled;
 * the dead server is later started again, empty, as a replica of the promoted one.
 *
 * cluster: three masters without replicas (startTestCluster), QUEUE_PARTITIONS=3. A master can be
 * paused (SIGSTOP) and resumed: without a replica, killing one would lose its slots' data.
 */
export interface Store {
  mode: Mode;
  /** For every app process. */
  env: Record<string, string>;
  /** A patient connection of the harness's own, for reading what the workers wrote. */
  redis: RedisClient;
  /** Keys matching `pattern` on every server that holds data (SCAN). */
  keys(pattern: string): string[];
  /** One line: which servers, which is primary, which is down. */
  describe(): string;
  /** Every server back: restarted, resumed, in sync. */
  heal(): Promise<void>;
  stop(): void;
  /** sentinel: kills the primary; returns its port. */
  killPrimary?(stallReplication: boolean): Promise<number>;
  /** sentinel: starts a killed server again, as a replica of the primary the sentinels name. */
  restartServer?(port: number): Promise<string>;
  /** cluster: pauses or resumes master `i`. */
  pauseMaster?(i: number, paused: boolean): void;
}

export async function startStore(mode: Mode): Promise<Store> {
  return mode === 'sentinel' ? sentinelStore() : clusterStore();
}

async function sentinelStore(): Promise<Store> {
  const set = await startSentinelSet({ replicas: 2, sentinels: 3 });
  const servers = [set.primary, ...set.replicas];
  const dead = new Set<number>();
  const restarted: ChildProcess[] = [];
  const cli = (port: number, ...args: string[]) => set.cli(port, ...args);
  const answers = (port: number) => {
    try {
      return cli(port, 'PING') === 'PONG';
    } catch {
      return false;
    }
  };
  const dirOf = new Map(
    servers.map((port) => [port, cli(port, 'CONFIG', 'GET', 'dir').split('\n')[1] ?? '']),
  );
  const env = { ...set.env, ACK_REPLICAS: '1' };
  const redis = createRedis(
    {
      REDIS_URL: 'redis://127.0.0.1:6379',
      REDIS_SENTINELS: set.env.REDIS_SENTINELS.split(','),
      REDIS_SENTINEL_NAME: set.env.REDIS_SENTINEL_NAME,
    },
    'patient',
    'oncehook-chaos-harness',
  );
  redis.on('error', () => {});
  const primary = () => {
    try {
      return set.currentPrimary();
    } catch {
      return 0;
    }
  };

  async function restartServer(port: number) {
    // Only once the sentinels promoted another server: started as a replica of it, empty.
    const now = await waitFor(
      () => {
        const p = primary();
        return p && p !== port && answers(p) && cli(p, 'ROLE').startsWith('master') ? p : 0;
      },
      60_000,
      `a primary other than ${port}`,
    );
    const proc = spawn(
      'redis-server',
      [
        ...['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'],
        ...['--dir', dirOf.get(port) ?? '/tmp', '--replicaof', '127.0.0.1', String(now)],
      ],
      { stdio: 'ignore' },
    );
    restarted.push(proc);
    await waitFor(() => answers(port), 10_000, `redis ${port} restarted`);
    dead.delete(port);
    return `${port} back as a replica of ${now}`;
  }

  return {
    mode: 'sentinel',
    env,
    redis,
    keys: (pattern) => {
      const p = primary();
      return p ? cli(p, '--scan', '--pattern', pattern).split('\n').filter(Boolean) : [];
    },
    describe: () =>
      `sentinel: servers ${servers.join(', ')}; primary ${primary()}${dead.size ? `; down ${[...dead].join(', ')}` : ''}`,
    async killPrimary(stallReplication) {
      const port = primary();
      if (!port || dead.has(port)) throw new Error('no live primary to kill');
      // The stall only holds back replicas that still replicate through the set's proxy (the first primary).
      if (stallReplication && port === set.primary) {
        set.stallReplication();
        await sleep(1000);
      }
      const pid = Number(/process_id:(\d+)/.exec(cli(port, 'INFO', 'server'))?.[1]);
      process.kill(pid, 'SIGKILL');
      dead.add(port);
      return port;
    },
    restartServer,
    async heal() {
      for (const port of [...dead]) await restartServer(port);
      // ACK_REPLICAS=1: the primary has a replica in sync again.
      await waitFor(
        () => {
          const p = primary();
          return p && answers(p) && /connected_slaves:[1-9]/.test(cli(p, 'INFO', 'replication'));
        },
        60_000,
        'a primary with a replica in sync',
      );
    },
    stop() {
      redis.disconnect();
      set.stop();
      for (const proc of restarted) proc.kill('SIGKILL');
    },
  };
}

async function clusterStore(): Promise<Store> {
  const cluster = await startTestCluster(3);
  const paused = new Set<number>();
  const env = { REDIS_CLUSTER_NODES: cluster.nodes, QUEUE_PARTITIONS: '3' };
  const redis = createRedis(
    { REDIS_URL: 'redis://127.0.0.1:6379', REDIS_CLUSTER_NODES: cluster.nodes.split(',') },
    'patient',
    'oncehook-chaos-harness',
  );
  redis.on('error', () => {});
  const pauseMaster = (i: number, pause: boolean) => {
    const master = cluster.masters[i];
    if (!master) throw new Error(`no master ${i}`);
    if (pause) {
      master.pause();
      paused.add(i);
    } else {
      master.resume();
      paused.delete(i);
    }
  };
  return {
    mode: 'cluster',
    env,
    redis,
    keys: (pattern) => cluster.masters.flatMap((m, i) => (paused.has(i) ? [] : m.keys(pattern))),
    describe: () =>
      `cluster: masters ${cluster.masters.map((m) => m.port).join(', ')}${paused.size ? `; paused ${[...paused].map((i) => cluster.masters[i]?.port).join(', ')}` : ''}`,
    pauseMaster,
    async heal() {
      for (const i of [...paused]) pauseMaster(i, false);
      await waitFor(
        () => cluster.masters.every((m) => clusterOk(m.port)),
        60_000,
        'cluster_state:ok on every master',
      );
    },
    stop() {
      redis.disconnect();
      cluster.stop();
    },
  };
}

function clusterOk(port: number) {
  try {
    return execFileSync('redis-cli', ['-p', String(port), 'CLUSTER', 'INFO'], { encoding: 'utf8' }).includes(
      'cluster_state:ok',
    );
  } catch {
    return false;
  }
}
