import { type ChildProcess, spawn } from 'node:child_process';
import { join } from 'node:path';
import { TEST_ADMIN_TOKEN } from './admin.ts';
import { freePort, waitFor } from './net.ts';

export const ROOT = join(import.meta.dirname, '..', '..', '..');

/**
 * One real app process (ingest, worker or reconciler), started exactly as `npm run start:<app>` (or
 * `npm run reconcile`) starts it (the build the global setup made), in its own process group so that `kill()` (SIGKILL by default)
 * takes it whole, mid-whatever.
 */
export interface AppProcess {
  child: ChildProcess;
  output(): string;
  kill(signal?: NodeJS.Signals): void;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

const running = new Set<ChildProcess>();
process.on('exit', () => {
  for (const child of running) killGroup(child, 'SIGKILL');
});

function killGroup(child: ChildProcess, signal: NodeJS.Signals) {
  try {
    if (child.pid) process.kill(-child.pid, signal);
  } catch {}
}

// What each runs: the build the global setup made (scripts/build.mjs).
const ENTRIES = {
  ingest: 'examples/payments/dist/ingest.mjs',
  worker: 'examples/payments/dist/worker.mjs',
  reconciler: 'apps/reconciler/dist/main.mjs',
  /** `oncehook-worker`: a worker forwarding to DESTINATIONS_FILE, without workflows of its own. */
  forwarder: 'apps/worker/dist-bin/main.mjs',
} as const;

export function spawnApp(
  app: keyof typeof ENTRIES,
  env: Record<string, string>,
  args: string[] = [],
): AppProcess {
  const child = spawn(process.execPath, ['--enable-source-maps', ENTRIES[app], ...args], {
    cwd: ROOT,
    detached: true,
    stdio: ['ignore', 'pipe', 'pipe'],
    // Several workers share the machine: their metrics server is off unless a test gives a port.
    // Tests name their webhook secrets for what they are, shorter than real ones.
    env: {
      ...process.env,
      LOG_LEVEL: 'warn',
      ALLOW_SHORT_SECRETS: '1',
      ...(app === 'worker' || app === 'forwarder' ? { METRICS_PORT: '0' } : {}),
      ...env,
    },
  });
  running.add(child);
  let out = '';
  const append = (d: Buffer) => {
    out += d;
    if (out.length > 200_000) out = out.slice(-100_000);
  };
  child.stdout?.on('data', append);
  child.stderr?.on('data', append);
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.on('exit', (code, signal) => {
      running.delete(child);
      resolve({ code, signal });
    }),
  );
  return {
    child,
    output: () => out,
    kill(signal = 'SIGKILL') {
      killGroup(child, signal);
    },
    exited,
  };
}

/**
 * Starts an ingest on a free port and waits until /readyz answers 200. Its ADMIN_TOKEN is
 * TEST_ADMIN_TOKEN unless `env` sets one: /status and /admin need it (`adminHeaders()`).
 */
export async function startIngest(env: Record<string, string>) {
  const port = await freePort();
  const app = spawnApp('ingest', { ADMIN_TOKEN: TEST_ADMIN_TOKEN, ...env, PORT: String(port) });
  const base = `http://127.0.0.1:${port}`;
  await waitFor(
    async () => (await fetch(`${base}/readyz`, { signal: AbortSignal.timeout(1000) })).ok,
    60_000,
    `ingest ready on ${base} (output: ${app.output().slice(-500)})`,
  ).catch((err) => {
    app.kill();
    throw new Error(`${err.message}\n${app.output().slice(-2000)}`);
  });
  return { ...app, base, port };
}

export async function postJson(url: string, body: unknown, headers: Record<string, string> = {}) {
  const started = performance.now();
  try {
    const res = await fetch(url, {
      method: 'POST',
      body: typeof body === 'string' ? body : JSON.stringify(body),
      headers: { 'content-type': 'application/json', ...headers },
      signal: AbortSignal.timeout(10_000),
    });
    const text = await res.text();
    // biome-ignore lint/suspicious/noExplicitAny: tests inspect response bodies freely
    let json: any = null;
    try {
      json = JSON.parse(text);
    } catch {}
    return { status: res.status, json, text, ms: performance.now() - started };
  } catch (err) {
    return { status: 0, json: null, text: String(err), ms: performance.now() - started };
  }
}

/** Runs `fn` over `items` with at most `n` in flight. */
export async function pool<T, R>(
  items: T[],
  n: number,
  fn: (item: T, i: number) => Promise<R>,
): Promise<R[]> {
  const out: R[] = new Array(items.length);
  let next = 0;
  await Promise.all(
    Array.from({ length: n }, async () => {
      while (next < items.length) {
        const i = next++;
        out[i] = await fn(items[i] as T, i);
      }
    }),
  );
  return out;
}
