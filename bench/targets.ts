import { type ChildProcess, fork } from 'node:child_process';
import { join } from 'node:path';
import { freePort } from '@oncehook/testing';

/** Starts one of the baselines in bench/baselines as its own process; resolves with its URL. */
export async function startBaseline(name: 'bare-http' | 'plain-hono', ...args: string[]) {
  const port = await freePort();
  const child: ChildProcess = fork(
    join(import.meta.dirname, 'baselines', `${name}.mjs`),
    [String(port), ...args],
    {
      stdio: ['ignore', 'ignore', 'inherit', 'ipc'],
    },
  );
  await new Promise<void>((resolve, reject) => {
    child.once('message', () => resolve());
    child.once('exit', (code) => reject(new Error(`${name} exited (${code})`)));
  });
  return {
    url: `http://127.0.0.1:${port}/webhook`,
    stop: async () => {
      child.kill('SIGKILL');
      await new Promise((r) => child.once('exit', r));
    },
  };
}
