import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort, waitFor } from './net.ts';

/** A private three-master Redis Cluster (no replicas), for tests that need real slot rules. */
export async function startTestCluster(size = 3) {
  const nodes: { port: number; proc: ChildProcess }[] = [];
  for (let i = 0; i < size; i++) {
    const port = await freePort();
    const dir = mkdtempSync(join(tmpdir(), 'oncehook-cluster-'));
    const proc = spawn(
      'redis-server',
      ['--port', String(port), '--bind', '127.0.0.1', '--dir', dir, '--cluster-enabled', 'yes', '--save', ''],
      { stdio: 'ignore' },
    );
    nodes.push({ port, proc });
  }
  const cli = (port: number, ...args: string[]) =>
    execFileSync('redis-cli', ['-p', String(port), ...args], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'pipe'],
    }).trim();
  for (const { port } of nodes) await waitFor(() => cli(port, 'PING') === 'PONG', 10_000, `node ${port}`);
  cli(
    nodes[0]?.port ?? 0,
    '--cluster',
    'create',
    ...nodes.map((n) => `127.0.0.1:${n.port}`),
    '--cluster-yes',
  );
  for (const { port } of nodes) {
    await waitFor(
      () => cli(port, 'CLUSTER', 'INFO').includes('cluster_state:ok'),
      20_000,
      `cluster ok on ${port}`,
    );
  }
  return {
    /** For REDIS_CLUSTER_NODES. */
    nodes: nodes.map((n) => `127.0.0.1:${n.port}`).join(','),
    /** Each master: its port, its keys matching a pattern, and its process paused or resumed. */
    masters: nodes.map(({ port, proc }) => ({
      port,
      keys: (pattern: string) => cli(port, '--scan', '--pattern', pattern).split('\n').filter(Boolean),
      /** SIGSTOP: the process hangs, holding its connections open, as a host stalling does. */
      pause: () => proc.kill('SIGSTOP'),
      resume: () => proc.kill('SIGCONT'),
    })),
    stop() {
      for (const { proc } of nodes) {
        proc.kill('SIGCONT');
        proc.kill('SIGKILL');
      }
    },
  };
}
