import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { EXAMPLES, SIGNERS } from '@oncehook/ingest/sign';
import {
  type AppProcess,
  destinationsEnv,
  freePort,
  pool,
  postJson,
  ROOT,
  randomPrefix,
  sleep,
  startFakeDestination,
  startTestRedis,
  type TestRedis,
  waitFor,
} from '@oncehook/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { packRelease } from '../scripts/pack-release.mjs';

/**
 * oncehook used the way a team uses it: from a project of its own outside this repository, with
 * nothing but the packed tarballs installed by npm. Its own workflow — the README's example,
 * copied from it — calls its own HTTP service with the step's idempotency key; `runWorker` runs
 * it, `oncehook-ingest` takes signed Standard Webhooks deliveries. Each event is delivered twice, the worker is killed -9
 * mid-run and started again: every event's effect happens once.
 */
const SECRET = `whsec_${Buffer.from('a project of its own, 32 bytes!!').toString('base64')}`;
const EVENTS = 40;

let project: string;
let redis: TestRedis;
let service: Server;
/** The team's service: one effect per idempotency key, the way Stripe keeps them. */
const effects = new Map<string, number>();
const running: AppProcess[] = [];

beforeAll(async () => {
  const tarballs = packRelease(mkdtempSync(join(tmpdir(), 'oncehook-tarballs-')));
  project = mkdtempSync(join(tmpdir(), 'oncehook-user-project-'));
  writeFileSync(
    join(project, 'package.json'),
    JSON.stringify({ name: 'my-service', private: true, type: 'module' }),
  );
  execFileSync('npm', ['install', '--no-audit', '--no-fund', '--loglevel=error', ...tarballs], {
    cwd: project,
    stdio: 'inherit',
  });
  // The README's own example, as written there.
  writeFileSync(join(project, 'worker.mjs'), docsExample('README.md', 'worker.mjs'));
  writeFileSync(join(project, 'workflows.mjs'), docsExample('docs/workflows.md', 'workflows.mjs'));
  redis = await startTestRedis();
  service = createServer((req, res) => {
    const key = String(req.headers['idempotency-key']);
    // Slow enough that a worker killed mid-run leaves requests in flight.
    setTimeout(() => {
      effects.set(key, (effects.get(key) ?? 0) + (effects.has(key) ? 0 : 1));
      res.end('{}');
    }, 20);
  });
  await new Promise<void>((r) => service.listen(0, '127.0.0.1', r));
}, 600_000);

afterAll(async () => {
  for (const p of running) p.kill();
  redis?.stop();
  service?.close();
  if (project) rmSync(project, { recursive: true, force: true });
});

function start(command: string, args: string[], env: Record<string, string>): AppProcess {
  const child = spawn(command, args, {
    cwd: project,
    detached: true,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, ...env },
  });
  let out = '';
  child.stdout?.on('data', (d) => (out += d));
  child.stderr?.on('data', (d) => (out += d));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((r) =>
    child.on('exit', (code, signal) => r({ code, signal })),
  );
  const proc: AppProcess = {
    child,
    output: () => out,
    kill: (signal = 'SIGKILL') => {
      try {
        if (child.pid) process.kill(-child.pid, signal);
      } catch {}
    },
    exited,
  };
  running.push(proc);
  return proc;
}

/** A code block of the docs, the one after `<!-- own-project:<name> -->`. */
function docsExample(doc: string, name: string): string {
  const text = readFileSync(join(ROOT, doc), 'utf8');
  const at = text.indexOf(`<!-- own-project:${name} -->`);
  const code = /```\w*\n([\s\S]*?)```/.exec(text.slice(at));
  if (at === -1 || !code?.[1]) throw new Error(`${doc} has no example ${name}`);
  return code[1];
}

describe('in a project of its own, with only the published packages', () => {
  it("runs the project's workflow once per event through duplicates and a worker killed -9", async () => {
    const port = await freePort();
    const env = {
      REDIS_URL: redis.url,
      QUEUE_PREFIX: randomPrefix('pkg'),
      STANDARD_WEBHOOK_SECRET: SECRET,
      SERVICE_URL: `http://127.0.0.1:${(service.address() as AddressInfo).port}/`,
      METRICS_PORT: '0',
      BACKOFF_MS: '100',
      LOG_LEVEL: 'warn',
    };
    const ingest = start(join(project, 'node_modules', '.bin', 'oncehook-ingest'), [], {
      ...env,
      PORT: String(port),
    });
    const base = `http://127.0.0.1:${port}`;
    await waitFor(
      async () => (await fetch(`${base}/readyz`).catch(() => null))?.ok === true,
      30_000,
      `ingest up (${ingest.output()})`,
    );
    let worker = start(process.execPath, ['worker.mjs'], env);

    const ids = Array.from({ length: EVENTS }, (_, i) => `msg_pkg_${i}`);
    const deliver = async (id: string) => {
      const body = JSON.stringify({ type: 'order.paid', data: { order: id } });
      const headers = await SIGNERS.standard({ body, secret: SECRET, id, nowMs: Date.now() });
      return postJson(`${base}/webhooks/standard`, body, headers);
    };
    const answers = await pool([...ids, ...ids], 8, deliver);
    expect(answers.map((a) => a.status)).toEqual(answers.map(() => 200));
    // Mid-run: the worker dies with requests in flight, and another takes over.
    await waitFor(() => effects.size >= 5, 60_000, `first effects (${worker.output()})`);
    worker.kill('SIGKILL');
    await worker.exited;
    worker = start(process.execPath, ['worker.mjs'], env);
    await waitFor(
      () => effects.size === EVENTS,
      120_000,
      `every effect (${effects.size}; ${worker.output()})`,
    );
    await sleep(1000);
    expect(effects.size).toBe(EVENTS);
    expect([...effects.values()].every((n) => n === 1)).toBe(true);
    // The key is the event's and the step's, the same on every retry: `standard:<id>:notify.post`.
    expect([...effects.keys()].sort()).toEqual(ids.map((id) => `standard:${id}:notify.post`).sort());
  }, 300_000);

  it("runs docs/workflows.md's example as written: a pure step, an effect, a Redis write, each once", async () => {
    const port = await freePort();
    const secret = EXAMPLES.shopify.secret('a-project-of-its-own');
    const env = {
      REDIS_URL: redis.url,
      QUEUE_PREFIX: randomPrefix('pkg'),
      SHOPIFY_WEBHOOK_SECRET: secret,
      STOCK_URL: `http://127.0.0.1:${(service.address() as AddressInfo).port}`,
      METRICS_PORT: '0',
      LOG_LEVEL: 'warn',
    };
    start(join(project, 'node_modules', '.bin', 'oncehook-ingest'), [], { ...env, PORT: String(port) });
    const base = `http://127.0.0.1:${port}`;
    await waitFor(
      async () => (await fetch(`${base}/readyz`).catch(() => null))?.ok === true,
      30_000,
      'ingest up',
    );
    const worker = start(process.execPath, ['workflows.mjs'], env);
    const fixture = readFileSync(join(ROOT, 'fixtures', EXAMPLES.shopify.fixture), 'utf8');
    const before = effects.size;
    for (let n = 1; n <= 3; n++) {
      const { body, id } = EXAMPLES.shopify.nth(fixture, n);
      const headers = await SIGNERS.shopify({ body, secret, id, nowMs: Date.now(), event: 'orders/create' });
      for (const _ of [1, 2])
        expect((await postJson(`${base}/webhooks/shopify`, body, headers)).status).toBe(200);
    }
    await waitFor(
      async () => redis.cli('HGET', 'shop:{stats}', 'orders') === '3',
      60_000,
      `3 orders counted (${worker.output()})`,
    );
    expect(effects.size - before).toBe(3);
  });

  it('oncehook-worker forwards to the service of DESTINATIONS_FILE, signed, once per event: no code', async () => {
    const port = await freePort();
    const destination = await startFakeDestination();
    const env = {
      REDIS_URL: redis.url,
      QUEUE_PREFIX: randomPrefix('pkg'),
      STANDARD_WEBHOOK_SECRET: SECRET,
      METRICS_PORT: '0',
      ...destinationsEnv([{ name: 'orders-api', url: destination.url, sources: ['standard'] }]),
    };
    try {
      start(join(project, 'node_modules', '.bin', 'oncehook-ingest'), [], { ...env, PORT: String(port) });
      const base = `http://127.0.0.1:${port}`;
      await waitFor(
        async () => (await fetch(`${base}/readyz`).catch(() => null))?.ok === true,
        30_000,
        'ingest up',
      );
      const forwarder = start(join(project, 'node_modules', '.bin', 'oncehook-worker'), [], env);
      const body = JSON.stringify({ type: 'order.paid', data: { id: 'ord_fwd' } });
      const headers = await SIGNERS.standard({ body, secret: SECRET, id: 'msg_pkg_fwd', nowMs: Date.now() });
      for (const _ of [1, 2])
        expect((await postJson(`${base}/webhooks/standard`, body, headers)).status).toBe(200);
      await waitFor(() => destination.delivered().length === 1, 60_000, `forwarded (${forwarder.output()})`);
      await sleep(500);
      expect(destination.hits).toHaveLength(1);
      expect(destination.hits[0]?.verified).toBe(true);
      expect(destination.hits[0]?.body.toString()).toBe(body);
    } finally {
      await destination.close();
    }
  });

  it('refuses to start a workflow whose trigger names no source, naming it', async () => {
    writeFileSync(
      join(project, 'typo.mjs'),
      `import { defineWorkflow, runWorker } from '@oncehook/worker';
await runWorker({ workflows: [defineWorkflow('w', { source: 'strpie', type: 'x' }).step('s', () => 1)] });
`,
    );
    const typo = start(process.execPath, ['typo.mjs'], { REDIS_URL: redis.url, METRICS_PORT: '0' });
    expect((await typo.exited).code).toBe(78);
    expect(typo.output()).toContain('no source named "strpie"');
  });
});
