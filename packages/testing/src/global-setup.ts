import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort, waitFor } from './net.ts';

/**
 * Vitest global setup: the fast tests need a Redis. Use REDIS_URL (default 127.0.0.1:6379) when
 * it answers; otherwise start a private `redis-server` on a free port for this run, exactly as
 * `npm start` does when nothing is listening, and hand its URL to every test through REDIS_URL.
 */
export default async function setup() {
  // The process tests run the apps as `npm run start:<app>` does: built.
  // @ts-expect-error: a plain .mjs script, outside this package
  const { buildApps } = await import('../../../scripts/build.mjs');
  await buildApps();
  const url = new URL(process.env.REDIS_URL || 'redis://127.0.0.1:6379');
  if (await answers(url.hostname, Number(url.port || 6379))) return;

  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), 'oncehook-test-redis-'));
  let child: ChildProcess;
  try {
    child = spawn(
      'redis-server',
      ['--port', String(port), '--bind', '127.0.0.1', '--dir', dir, '--save', ''],
      {
        stdio: 'ignore',
      },
    );
    await new Promise<void>((resolve, reject) => {
      child.once('spawn', resolve);
      child.once('error', reject);
    });
  } catch {
    throw new Error(
      `No Redis answers at ${url.host} and redis-server is not installed: start one, or set REDIS_URL.`,
    );
  }
  await waitFor(() => answers('127.0.0.1', port), 10_000, `the test Redis on :${port}`);
  process.env.REDIS_URL = `redis://127.0.0.1:${port}`;
  console.log(`[oncehook] no Redis at ${url.host}: started a private redis-server on :${port} for the tests`);
  return () => {
    child.kill('SIGKILL');
  };
}

/** True if something answers PING with PONG there. */
function answers(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect(port, host);
    socket.setTimeout(1000);
    socket.once('connect', () => socket.write('PING\r\n'));
    socket.once('data', (d) => {
      socket.destroy();
      resolve(d.toString().startsWith('+PONG'));
    });
    const no = () => {
      socket.destroy();
      resolve(false);
    };
    socket.once('error', no);
    socket.once('timeout', no);
  });
}
