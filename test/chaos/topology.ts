import { spawn } from 'node:child_process';
import { appendFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  type AppProcess,
  destinationsEnv,
  freePort,
  ROOT,
  sleep,
  spawnApp,
  startFakeApis,
  startFakeDestination,
  TEST_ADMIN_TOKEN,
  waitFor,
} from '@oncehook/testing';
import { startProbe } from './probe.ts';
import { random } from './random.ts';
import { sourcesEnv } from './sources.ts';
import { type Mode, startStore } from './store.ts';
import { CHAOS_SOURCE, FORWARD_DESTINATION } from './workflows.ts';

/** One app process slot: the process running in it now, and what the faults did to it. */
export interface Slot {
  name: string;
  kind: 'ingest' | 'worker';
  proc: AppProcess | undefined;
  state: 'up' | 'down' | 'stopped';
  /** Ingests only: the port it listens on, the same after every restart. */
  port: number;
  base: string;
}

/**
 * Retries as the seed draws them: quick ones (a failing run gives its key up within seconds) or
 * production-like ones (a failing run holds its key through 15 s of retries while the events
 * behind it park, some past their window).
 */
export function retries(seed: number) {
  const rng = random(seed, 'config');
  return rng.pick([
    { MAX_ATTEMPTS: '4', BACKOFF_MS: '250' },
    { MAX_ATTEMPTS: '5', BACKOFF_MS: '1000' },
  ]);
}

/** A worker paused by the faults: its pid, and from when to when (seconds into the run). */
export interface Pause {
  pid: string;
  from: number;
  to?: number;
}

const running = new Set<AppProcess>();
process.on('exit', () => {
  for (const app of running) app.kill('SIGKILL');
});

/** The chaos worker (worker.ts) as its own process group, like spawnApp's processes. */
function spawnChaosWorker(env: Record<string, string>): AppProcess {
  const child = spawn(
    process.execPath,
    ['--enable-source-maps', '--import', 'tsx', join('test', 'chaos', 'worker.ts')],
    {
      cwd: ROOT,
      detached: true,
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, LOG_LEVEL: 'warn', METRICS_PORT: '0', ...env },
    },
  );
  let out = '';
  const append = (d: Buffer) => {
    out += d;
    if (out.length > 200_000) out = out.slice(-100_000);
  };
  child.stdout?.on('data', append);
  child.stderr?.on('data', append);
  const app: AppProcess = {
    child,
    output: () => out,
    kill(signal = 'SIGKILL') {
      try {
        if (child.pid) process.kill(-child.pid, signal);
      } catch {}
    },
    exited: new Promise((resolve) =>
      child.on('exit', (code, signal) => {
        running.delete(app);
        resolve({ code, signal });
      }),
    ),
  };
  running.add(app);
  return app;
}

/**
 * Everything a chaos run starts: the Redis (store.ts), the fake payments and mail APIs, the probe,
 * 2 ingests (the built app) and 3 workers (worker.ts), all on one QUEUE_PREFIX. Every process's
 * output goes to `<dir>/<name>.log`. A process that exits by itself is an incident: it is
 * recorded and started again, as an orchestrator would.
 */
export async function startTopology({
  mode,
  seed,
  dir,
  elapsed,
}: {
  mode: Mode;
  seed: number;
  dir: string;
  /** Seconds into the run (for logs, pauses and the probe). */
  elapsed: () => number;
}) {
  const store = await startStore(mode);
  const apis = await startFakeApis();
  const probe = await startProbe({ elapsed });
  // The service the chaos invoices are forwarded to (DESTINATIONS_FILE); the faults take it away.
  const destination = await startFakeDestination();
  const prefix = `chaos${seed}`;
  const env: Record<string, string> = {
    ...store.env,
    ...sourcesEnv(dir),
    QUEUE_PREFIX: prefix,
    PAYMENTS_URL: apis.url,
    MAILER_URL: apis.url,
    ADMIN_TOKEN: TEST_ADMIN_TOKEN,
    ...retries(seed),
    // Dead letters stay replayable however long the run: the check replays every one at the end.
    FAILED_RETENTION: '86400',
    WORKER_CONCURRENCY: '16',
    LOG_LEVEL: 'warn',
    CHAOS_PROBE_URL: probe.url,
    ...destinationsEnv([
      { name: FORWARD_DESTINATION, url: destination.url, sources: [CHAOS_SOURCE], types: ['invoice.*'] },
    ]),
  };
  const incidents: string[] = [];
  let stopped = false;
  const at = () => `${elapsed().toFixed(1)}s`;

  const slot = (kind: Slot['kind'], name: string, port = 0): Slot => ({
    kind,
    name,
    proc: undefined,
    state: 'down',
    port,
    base: `http://127.0.0.1:${port}`,
  });
  const ingests = [
    slot('ingest', 'ingest-0', await freePort()),
    slot('ingest', 'ingest-1', await freePort()),
  ];
  const workers = [0, 1, 2].map((i) => slot('worker', `worker-${i}`));

  function watch(s: Slot, proc: AppProcess) {
    const log = join(dir, `${s.name}.log`);
    appendFileSync(log, `\n==== ${s.name} started at ${at()} (pid ${proc.child.pid})\n`);
    const write = (d: Buffer) => appendFileSync(log, d);
    proc.child.stdout?.on('data', write);
    proc.child.stderr?.on('data', write);
    void proc.exited.then(({ code, signal }) => {
      appendFileSync(log, `==== ${s.name} pid ${proc.child.pid} exited at ${at()}: ${signal ?? code}\n`);
      if (s.proc !== proc || s.state === 'down') return;
      // The error it died of (an uncaught one prints `Name: message` before its stack), or its last words.
      const out = proc.output().trim().split('\n');
      const error = out.findLast((line) => /^\w*Error\b.*: /.test(line)) ?? out.slice(-3).join(' | ');
      incidents.push(
        `${s.name} (pid ${proc.child.pid}) exited by itself at ${at()} (${signal ?? `code ${code}`}): ${error}`,
      );
      s.state = 'down';
      void sleep(1000).then(() => {
        if (s.state === 'down' && !stopped) start(s);
      });
    });
  }

  /** Starts the slot's process; an ingest restarted mid-run is not waited for (Redis may be away). */
  function start(s: Slot) {
    const proc =
      s.kind === 'ingest' ? spawnApp('ingest', { ...env, PORT: String(s.port) }) : spawnChaosWorker(env);
    s.proc = proc;
    s.state = 'up';
    watch(s, proc);
  }

  /** Every ingest answers /readyz: at the start, and once everything is healed. */
  async function ready() {
    for (const s of ingests) {
      await waitFor(
        async () => (await fetch(`${s.base}/readyz`, { signal: AbortSignal.timeout(1000) })).ok,
        60_000,
        `${s.name} ready`,
      ).catch((err: Error) => incidents.push(`${s.name}: ${err.message}`));
    }
  }

  function kill(s: Slot) {
    s.state = 'down';
    s.proc?.kill('SIGKILL');
  }

  const pauses: Pause[] = [];
  function pause(s: Slot, paused: boolean) {
    const pid = String(s.proc?.child.pid);
    const now = elapsed();
    s.proc?.kill(paused ? 'SIGSTOP' : 'SIGCONT');
    s.state = paused ? 'stopped' : 'up';
    if (paused) pauses.push({ pid, from: now });
    else for (const p of pauses.filter((p) => p.pid === pid && p.to === undefined)) p.to = now;
  }

  for (const s of [...ingests, ...workers]) start(s);
  await ready();

  return {
    store,
    apis,
    probe,
    destination,
    env,
    prefix,
    ingests,
    workers,
    incidents,
    pauses,
    start,
    kill,
    pause,
    /** The ingests' base URLs, whether up or not (a client tries the next on failure). */
    bases: () => ingests.map((s) => s.base),
    /** Every process running again, every server back, the APIs up and fast. */
    async heal() {
      apis.setDown(false);
      apis.setDelay(0);
      destination.answerWith(() => ({ status: 200, body: 'ok' }));
      await destination.up();
      await store.heal();
      for (const s of [...ingests, ...workers]) {
        if (s.state === 'stopped') pause(s, false);
        if (s.state === 'down') start(s);
      }
      await ready();
    },
    async stop() {
      stopped = true;
      const procs = [...ingests, ...workers].flatMap((s) => (s.proc ? [s.proc] : []));
      for (const s of [...ingests, ...workers]) s.state = 'down';
      for (const proc of procs) {
        proc.kill('SIGCONT');
        proc.kill('SIGKILL');
      }
      await Promise.all(procs.map((p) => p.exited));
      store.stop();
      await apis.close();
      await probe.close();
      await destination.close();
    },
  };
}

export type Topology = Awaited<ReturnType<typeof startTopology>>;
