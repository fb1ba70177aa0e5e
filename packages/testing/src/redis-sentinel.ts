import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort, waitFor } from './net.ts';
import { startTcpProxy } from './tcp-proxy.ts';

export const SENTINEL_NAME = 'oncehook';

/**
 * A private primary, its replicas and the sentinels that watch them, on free loopback ports: what
 * a managed Redis with automatic failover is, small enough to kill. Sentinels declare the primary
 * down after 1 s and fail over to a replica.
 */
export async function startSentinelSet({ replicas = 2, sentinels = 3 } = {}) {
  const dir = mkdtempSync(join(tmpdir(), 'oncehook-sentinel-'));
  const procs = new Map<number, ChildProcess>();
  const cli = (port: number, ...args: string[]) =>
    execFileSync('redis-cli', ['-p', String(port), ...args], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'pipe'],
    }).trim();
  const answers = (port: number) => {
    try {
      return cli(port, 'PING') === 'PONG';
    } catch {
      return false;
    }
  };
  const server = async (args: string[]) => {
    const port = await freePort();
    const proc = spawn(
      'redis-server',
      [...args, '--port', String(port), '--bind', '127.0.0.1', '--save', '', '--dir', dir],
      {
        stdio: 'ignore',
      },
    );
    procs.set(port, proc);
    await waitFor(() => answers(port), 10_000, `redis on ${port}`);
    return port;
  };

  const primary = await server(['--appendonly', 'no']);
  // The replicas reach the primary through a proxy, so that a test can make replication lag the
  // way a busy network does: the primary goes on, its last writes never reach a replica.
  const link = await startTcpProxy({ port: primary });
  const replicaPorts: number[] = [];
  for (let i = 0; i < replicas; i++) {
    replicaPorts.push(await server(['--replicaof', '127.0.0.1', String(link.port)]));
  }
  for (const port of replicaPorts) {
    await waitFor(
      () => cli(port, 'INFO', 'replication').includes('master_link_status:up'),
      10_000,
      `replica ${port} in sync`,
    );
  }
  const sentinelPorts: number[] = [];
  for (let i = 0; i < sentinels; i++) {
    const port = await freePort();
    const conf = join(dir, `sentinel-${port}.conf`);
    writeFileSync(
      conf,
      [
        `port ${port}`,
        'bind 127.0.0.1',
        `dir ${dir}`,
        `sentinel monitor ${SENTINEL_NAME} 127.0.0.1 ${primary} 2`,
        `sentinel down-after-milliseconds ${SENTINEL_NAME} 1000`,
        `sentinel failover-timeout ${SENTINEL_NAME} 5000`,
        `sentinel parallel-syncs ${SENTINEL_NAME} 1`,
      ].join('\n'),
    );
    procs.set(port, spawn('redis-server', [conf, '--sentinel'], { stdio: 'ignore' }));
    await waitFor(() => answers(port), 10_000, `sentinel on ${port}`);
    sentinelPorts.push(port);
  }
  // Every sentinel knows every replica before anything is broken.
  for (const port of sentinelPorts) {
    await waitFor(
      () => (cli(port, 'SENTINEL', 'REPLICAS', SENTINEL_NAME).match(/^ip$/gm) ?? []).length === replicas,
      20_000,
      `sentinel ${port} sees the replicas`,
    );
  }
  const signal = (port: number, sig: NodeJS.Signals) => procs.get(port)?.kill(sig);

  return {
    primary,
    replicas: replicaPorts,
    /** For REDIS_SENTINELS / REDIS_SENTINEL_NAME. */
    env: {
      REDIS_SENTINELS: sentinelPorts.map((p) => `127.0.0.1:${p}`).join(','),
      REDIS_SENTINEL_NAME: SENTINEL_NAME,
    },
    /** The port the sentinels name as primary now. */
    currentPrimary: () =>
      Number(cli(sentinelPorts[0] ?? 0, 'SENTINEL', 'GET-MASTER-ADDR-BY-NAME', SENTINEL_NAME).split('\n')[1]),
    killPrimary: () => signal(primary, 'SIGKILL'),
    /** From now on nothing the primary writes reaches its replicas (their links stay open). */
    stallReplication: () => link.blackhole(),
    cli,
    stop() {
      for (const proc of procs.values()) proc.kill('SIGKILL');
      void link.close();
    },
  };
}

export type SentinelSet = Awaited<ReturnType<typeof startSentinelSet>>;
