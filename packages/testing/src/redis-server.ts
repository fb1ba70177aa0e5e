import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort, waitFor } from './net.ts';

/**
 * A private redis-server on a free port, owned by one test: it can be killed, restarted (same
 * port, same data dir) and reconfigured without touching anyone else's Redis.
 */
export interface TestRedis {
  port: number;
  url: string;
  dir: string;
  start(): Promise<void>;
  kill(): void;
  cli(...args: string[]): string;
  stop(): void;
}

export async function startTestRedis({
  aof = false,
  args = [],
}: {
  aof?: boolean;
  /** More `redis-server` arguments, e.g. `['--maxmemory-policy', 'allkeys-lru']`. */
  args?: string[];
} = {}): Promise<TestRedis> {
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), 'oncehook-redis-'));
  let proc: ChildProcess | undefined;
  const redis: TestRedis = {
    port,
    url: `redis://127.0.0.1:${port}`,
    dir,
    async start() {
      proc = spawn(
        'redis-server',
        [
          '--port',
          String(port),
          '--bind',
          '127.0.0.1',
          '--dir',
          dir,
          '--save',
          '',
          '--appendonly',
          aof ? 'yes' : 'no',
          ...args,
        ],
        { stdio: 'ignore' },
      );
      await waitFor(() => {
        try {
          return redis.cli('PING') === 'PONG';
        } catch {
          return false;
        }
      }, 10_000);
    },
    kill() {
      proc?.kill('SIGKILL');
      proc = undefined;
    },
    cli(...args: string[]) {
      return execFileSync('redis-cli', ['-p', String(port), ...args], {
        encoding: 'utf8',
        stdio: ['ignore', 'pipe', 'pipe'],
      }).trim();
    },
    stop() {
      redis.kill();
    },
  };
  await redis.start();
  return redis;
}
