import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { freePort, ROOT, startTestRedis, type TestRedis, waitFor } from '@oncehook/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

/**
 * The first hour, as a newcomer has it: a fresh clone of this repository (its last commit), a
 * shell with Node and redis-server and nothing else — no pnpm, nothing installed — and the
 * commands of README.md and docs/*.md run as they are written there, read from the docs
 * themselves. Nothing runs on the default ports: a private redis-server on a free port, and the
 * ingest and worker moved with REDIS_URL, PORT and METRICS_PORT, as the README allows. The
 * install is `npm start`'s own (pnpm fetched through npx, `--frozen-lockfile`), taken from the
 * store the repository's install filled (`prefer-offline`), so that it does not wait on the
 * network.
 */

const ADMIN = 'fresh-clone-admin-token';
const STRIPE_SECRET = 'whsec_local-test-secret';
let clone: string;
let redis: TestRedis;
let port: number;
let metricsPort: number;
const running = new Set<ChildProcess>();

/** A newcomer's shell: PATH without any node_modules/.bin (no pnpm, no tsx), HOME, and what is given. */
function shellEnv(more: Record<string, string> = {}): Record<string, string> {
  const keep = ['HOME', 'USER', 'LANG', 'TMPDIR'].filter((k) => process.env[k] !== undefined);
  const path = (process.env.PATH ?? '')
    .split(delimiter)
    .filter((dir) => !dir.includes('node_modules'))
    .join(delimiter);
  return {
    ...Object.fromEntries(keep.map((k) => [k, process.env[k] as string])),
    PATH: path,
    REDIS_URL: redis.url,
    PORT: String(port),
    METRICS_PORT: String(metricsPort),
    npm_config_prefer_offline: 'true',
    ...more,
  };
}

interface Shell {
  /** stdout and stderr, as a terminal shows them. */
  output(): string;
  stdout(): string;
  exited: Promise<number | null>;
  /** Ctrl-C, as a person stops it: SIGINT to its whole process group. */
  interrupt(): void;
  kill(): void;
}

/** A command line as the docs write it, run by sh in the clone, in its own process group. */
function sh(command: string, env: Record<string, string> = {}): Shell {
  const child = spawn('sh', ['-c', command], {
    cwd: clone,
    detached: true,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: shellEnv(env),
  });
  running.add(child);
  let out = '';
  let stdout = '';
  child.stdout?.on('data', (d) => {
    out += d;
    stdout += d;
  });
  child.stderr?.on('data', (d) => (out += d));
  const exited = new Promise<number | null>((resolve) =>
    child.on('exit', (code) => {
      running.delete(child);
      resolve(code);
    }),
  );
  const signal = (s: NodeJS.Signals) => {
    try {
      if (child.pid) process.kill(-child.pid, s);
    } catch {}
  };
  return {
    output: () => out,
    stdout: () => stdout,
    exited,
    interrupt: () => signal('SIGINT'),
    kill: () => signal('SIGKILL'),
  };
}

/** A command that ends by itself: its exit code, what it printed, and its stdout alone (`answer`). */
async function run(command: string, env: Record<string, string> = {}) {
  const shell = sh(command, env);
  const code = await shell.exited;
  return { code, out: shell.output(), answer: shell.stdout().trim() };
}

/** Stops a long-running command as a person would (Ctrl-C), and waits until it is gone. */
async function stop(shell: Shell) {
  shell.interrupt();
  // Only so that a test that failed does not leave it running: a stop that hangs is not this test's subject.
  const late = setTimeout(() => shell.kill(), 20_000);
  await shell.exited;
  clearTimeout(late);
}

const doc = (name: string) => readFileSync(join(clone, name), 'utf8');

/** The code block that follows `after` in a doc. */
function blockAfter(text: string, after: string): string {
  const at = text.indexOf(after);
  const block = /```\w*\n([\s\S]*?)```/.exec(text.slice(at))?.[1];
  if (at === -1 || block === undefined) throw new Error(`no code block after "${after}"`);
  return block;
}

/** A block's commands (continuations joined, comments after them dropped), each with the comment lines after it. */
function commandsOf(block: string): { command: string; said: string[] }[] {
  const out: { command: string; said: string[] }[] = [];
  let pending = '';
  for (const line of block.split('\n')) {
    if (line.startsWith('#')) {
      out.at(-1)?.said.push(line.slice(1).trim());
      continue;
    }
    if (!line.trim()) continue;
    pending += line.replace(/\\$/, ' ');
    if (line.endsWith('\\')) continue;
    out.push({ command: pending.replace(/\s{2,}#.*$/, '').trim(), said: [] });
    pending = '';
  }
  return out;
}

/** The README's commands aim at the default port: the same commands, at this test's. */
const moved = (command = '') => command.replaceAll('localhost:3000', `localhost:${port}`);

/** What curl printed: its last line, JSON. */
const answer = async (command: string) => JSON.parse((await run(command)).answer.split('\n').at(-1) ?? '');
/** The `"key":value` pairs with a plain value that a doc's abbreviated JSON shows. */
const shownPairs = (said: string) =>
  Object.fromEntries(
    [...said.matchAll(/"(\w+)":("[^"]*"|\d+|true|false)/g)].map((m) => [m[1], JSON.parse(m[2] as string)]),
  );

async function ready(url: string, what: Shell) {
  await waitFor(
    async () => (await fetch(url, { signal: AbortSignal.timeout(1000) }).catch(() => null))?.ok === true,
    120_000,
    `${url} ready (${what.output().slice(-2000)})`,
  );
}

async function status(source: string, id: string) {
  const res = await fetch(`http://127.0.0.1:${port}/status/${source}/${id}`, {
    headers: { authorization: `Bearer ${ADMIN}` },
  });
  return res.status === 200 ? ((await res.json()) as Record<string, unknown>) : { code: res.status };
}

beforeAll(async () => {
  clone = mkdtempSync(join(tmpdir(), 'oncehook-fresh-clone-'));
  execFileSync('git', ['clone', '--quiet', ROOT, clone]);
  redis = await startTestRedis();
  port = await freePort();
  metricsPort = await freePort();
}, 60_000);

afterAll(async () => {
  for (const child of running) {
    try {
      if (child.pid) process.kill(-child.pid, 'SIGKILL');
    } catch {}
  }
  redis?.stop();
  if (clone) rmSync(clone, { recursive: true, force: true });
});

describe('a fresh clone, with Node and redis-server only', () => {
  it("README's quickstart: npm start installs and starts everything, the curls answer as shown", async () => {
    const readme = doc('README.md');
    const start = commandsOf(blockAfter(readme, '## Quickstart'))[0]?.command;
    expect(start).toBe('npm start');
    const system = sh(start as string);
    try {
      await ready(`http://127.0.0.1:${port}/readyz`, system);
      await ready(`http://127.0.0.1:${metricsPort}/readyz`, system);
      const said = system.output();
      expect(said).toContain('installing dependencies');
      expect(said).toMatch(
        new RegExp(`dashboard: http://localhost:${port}/admin/queues \\(any user, password dev-`),
      );
      // Nothing a newcomer cannot act on: no pnpm box about build scripts.
      expect(said).not.toMatch(/approve-builds|Ignored build scripts/);

      const [post, statusCurl, ledgerCurl] = commandsOf(
        blockAfter(readme, 'Then send the same payment webhook'),
      );
      // The README shows the second answer under the first: the same command, again.
      const [first] = (post?.said[0] ?? '').split('...and again:').map((s) => s.trim());
      expect((await run(moved(post?.command ?? ''))).answer).toBe(first);
      expect((await run(moved(post?.command ?? ''))).answer).toBe(post?.said[1]);
      const status = moved(statusCurl?.command ?? '');
      await waitFor(async () => (await answer(status)).state === 'completed', 60_000, 'evt_001 completed');
      const shown = await answer(status);
      expect(shown).toMatchObject(shownPairs(statusCurl?.said[0] ?? ''));
      expect(shown.steps.map((s: { name: string; done: boolean }) => [s.name, s.done])).toEqual(
        [...(statusCurl?.said.join(' ') ?? '').matchAll(/"name":"(\w+)","done":true/g)].map((m) => [
          m[1],
          true,
        ]),
      );
      expect(await answer(moved(ledgerCurl?.command ?? ''))).toEqual(JSON.parse(ledgerCurl?.said[0] ?? ''));
    } finally {
      await stop(system);
    }
  });

  it('README: npm start -- --crash charges once though the first charge attempt fails after charging', async () => {
    const readme = doc('README.md');
    const crash = commandsOf(blockAfter(readme, 'Stop the first `npm start`'))[0]?.command ?? '';
    expect(crash).toBe('npm start -- --crash');
    const system = sh(crash);
    try {
      await ready(`http://127.0.0.1:${port}/readyz`, system);
      await ready(`http://127.0.0.1:${metricsPort}/readyz`, system);
      // "Send a new event id (`evt_002` in the curl above)".
      const [post, statusCurl, ledgerCurl] = commandsOf(
        blockAfter(readme, 'Then send the same payment webhook'),
      );
      const second = (command = '') => moved(command).replaceAll('evt_001', 'evt_002');
      expect(await answer(second(post?.command))).toEqual({ received: true, duplicate: false });
      await waitFor(
        async () => (await answer(second(statusCurl?.command))).state === 'completed',
        60_000,
        `evt_002 completed (${system.output().slice(-2000)})`,
      );
      expect(await answer(second(statusCurl?.command))).toMatchObject({ attempts: 2 });
      expect(system.output()).toContain('SIMULATE_CRASH=charge: crashing before the marker');
      expect(system.output()).toMatch(/returned the existing payment pi_/);
      expect(await answer(moved(ledgerCurl?.command))).toEqual({ entries: 2, totals: { USD: 2 * 4999 } });
    } finally {
      await stop(system);
    }
  });

  it('npm start shows the configuration errors of both apps, then stops with 78', async () => {
    const { code, out } = await run('npm start', { STATUS_PUBLIC: 'ture', WORKER_CONCURRENCY: 'lots' });
    expect(code).toBe(78);
    expect(out).toContain('STATUS_PUBLIC');
    expect(out).toContain('WORKER_CONCURRENCY');
    expect(out).toContain('fix the configuration it names above');
  });

  describe("the docs' commands, against the demo's ingest and worker run separately", () => {
    let ingest: Shell;
    let worker: Shell;
    const sent = (out: string) => ({
      id: /^POST \S+ x\d+: event (\S+) /m.exec(out)?.[1] ?? '',
      summary: out.split('\n').find((l) => / sent: /.test(l)),
    });

    beforeAll(async () => {
      // deployment.md: one process each, the ingest given the secrets the webhook:send docs use.
      const [startIngest, startWorker] = commandsOf(
        blockAfter(doc('docs/deployment.md'), 'In this repository'),
      );
      expect([startIngest?.command, startWorker?.command]).toEqual([
        'npm run start:ingest',
        'npm run start:worker',
      ]);
      const secrets = {
        STRIPE_WEBHOOK_SECRET: STRIPE_SECRET,
        GITHUB_WEBHOOK_SECRET: 'fresh-clone-github-secret',
      };
      ingest = sh(startIngest?.command ?? '', { ...secrets, ADMIN_TOKEN: ADMIN, LOG_LEVEL: 'info' });
      worker = sh(startWorker?.command ?? '', { BACKOFF_MS: '100' });
      await ready(`http://127.0.0.1:${port}/readyz`, ingest);
      await ready(`http://127.0.0.1:${metricsPort}/readyz`, worker);
    }, 180_000);

    afterAll(async () => {
      await Promise.all([ingest, worker].filter(Boolean).map(stop));
    });

    it('providers.md: webhook:send sends a new event on each run, says its id, and sends it again by --id', async () => {
      const block = blockAfter(doc('docs/providers.md'), '## Trying it locally');
      const command = block
        .split('\n')
        .filter((l) => l.startsWith('$ ') && l.includes('webhook:send'))
        .map((l) => l.slice(2))[0];
      const shown = block.split('\n').find((l) => / sent: /.test(l));
      expect(command).toBe(
        `STRIPE_WEBHOOK_SECRET=${STRIPE_SECRET} npm run webhook:send -- --source stripe --times 10`,
      );
      const runs = [await run(command as string), await run(command as string)];
      for (const { code, out } of runs) {
        expect(code, out).toBe(0);
        expect(sent(out).summary).toBe(shown);
        expect(out).toMatch(new RegExp(`its status: GET http://127.0.0.1:${port}/status/stripe/evt_`));
      }
      const [a, b] = runs.map((r) => sent(r.out).id);
      expect(a).not.toBe(b);
      expect(await status('stripe', a as string)).toMatchObject({ deliveries: 10 });
      // The same id again: the same event, a duplicate.
      const again = await run(`${command?.replace('--times 10', '--times 1')} --id ${a}`);
      expect(sent(again.out).summary).toBe('1 sent: 0 new, 1 duplicate, 0 not accepted');
    });

    it('providers.md: for GitHub, another --id is another event, not a copy; --new-id sends copies, logged by the event id', async () => {
      const send = (options: string) =>
        run(
          `GITHUB_WEBHOOK_SECRET=fresh-clone-github-secret npm run webhook:send -- --source github ${options}`,
        );
      expect(sent((await send('--id gh-first')).out).summary).toBe(
        '1 sent: 1 new, 0 duplicate, 0 not accepted',
      );
      expect(sent((await send('--id gh-second')).out).summary).toBe(
        '1 sent: 1 new, 0 duplicate, 0 not accepted',
      );
      expect(await status('github', 'gh-second')).toMatchObject({ deliveries: 1, copies: 0 });

      const copies = await send('--id gh-third --new-id --times 3');
      expect(sent(copies.out).summary).toBe('3 sent: 1 new, 2 duplicate, 0 not accepted');
      expect(await status('github', 'gh-third')).toMatchObject({ deliveries: 1, copies: 2 });
      await waitFor(() => ingest.output().includes('a copy of event gh-third'), 10_000, 'the copy logged');
    });

    it('operations.md: a dead letter of bad data is not replayable; the replay commands run and say what they did', async () => {
      const bad = { event_id: 'evt_1', type: 'payment.succeeded', amount: -5, currency: 'USD' };
      const posted = await fetch(`http://127.0.0.1:${port}/webhook`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(bad),
      });
      expect(posted.status).toBe(200);
      await waitFor(async () => (await status('demo', 'evt_1')).state === 'failed', 60_000, 'evt_1 failed');
      const listed = await fetch(`http://127.0.0.1:${port}/admin/events?state=failed&source=demo`, {
        headers: { authorization: `Bearer ${ADMIN}` },
      });
      expect(((await listed.json()) as { events: unknown[] }).events).toEqual([
        expect.objectContaining({ eventId: 'evt_1', replayable: false, reason: 'permanent_error' }),
      ]);

      const [one, bulk] = commandsOf(blockAfter(doc('docs/operations.md'), '## Replaying failed events'))
        .map((c) => c.command)
        .filter((c) => c.startsWith('npm run replay'));
      expect([one, bulk]).toEqual([
        'npm run replay -- --source demo --event evt_1',
        'npm run replay -- --failed --since 24h',
      ]);
      const replayed = await run(one as string);
      expect(replayed.code, replayed.out).toBe(0);
      expect(replayed.out).toMatch(/"kind": "replayed"[\s\S]*"replays": 1/);
      await waitFor(
        async () => (await status('demo', 'evt_1')).state === 'failed',
        60_000,
        'evt_1 failed again',
      );
      const skipped = await run(bulk as string);
      expect(skipped.code, skipped.out).toBe(0);
      expect(skipped.out).toMatch(/"eventId": "evt_1",\s*"reason": "permanent_error"/);
    });

    it('reconciliation.md: reconcile --help exits 0; its documented run says which variable it needs (78)', async () => {
      const help = await run('npm run reconcile -- --help');
      expect(help.code).toBe(0);
      expect(help.out).toContain('usage: npm run reconcile -- ');
      const [once] = commandsOf(blockAfter(doc('docs/reconciliation.md'), '# Reconciliation'));
      expect(once?.command).toBe('npm run reconcile -- --source stripe --since 72h');
      const unconfigured = await run(once?.command ?? '');
      expect(unconfigured.code).toBe(78);
      expect(unconfigured.out).toContain('PAYMENTS_API_KEY');
    });

    it('deployment.md: npm run build compiles the processes', async () => {
      expect((await run('npm run build')).code).toBe(0);
    });
  });

  it('every command the docs name is an npm script, written the way npm runs it', () => {
    const scripts = Object.keys(JSON.parse(doc('package.json')).scripts);
    for (const name of ['README.md', ...readdirDocs()]) {
      const text = doc(name);
      for (const m of text.matchAll(/npm run ([\w:-]+)( [^`\n#|)]*)?/g)) {
        expect(scripts, `${name}: npm run ${m[1]}`).toContain(m[1]);
        // Options go to the script after `--`; npm would take them for its own.
        if (m[2]?.trim().startsWith('-')) expect(m[2].trim(), `${name}: ${m[0]}`).toMatch(/^--( |$)/);
      }
      // pnpm is not what the README asks a newcomer to have.
      const blocks = [...text.matchAll(/```\w*\n([\s\S]*?)```/g)].map((m) => m[1]).join('\n');
      const pnpm = [
        ...[...text.matchAll(/`pnpm [^`]*`/g)].map((m) => m[0]),
        ...[...blocks.matchAll(/^(\$ )?pnpm .*/gm)].map((m) => m[0]),
      ];
      expect(pnpm, name).toEqual(name === 'README.md' ? ['`pnpm <script> <options>`'] : []);
    }
  });
});

function readdirDocs(): string[] {
  return execFileSync('git', ['ls-files', 'docs/*.md'], { cwd: clone, encoding: 'utf8' }).trim().split('\n');
}
