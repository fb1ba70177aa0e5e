#!/usr/bin/env node
// `npm start`: the whole system for a first try, in one terminal.
//   - installs dependencies on the first run;
//   - with no REDIS_URL and nothing on 127.0.0.1:6379, starts a local redis-server (AOF on, data
//     in .data/redis, git-ignored) if one is installed;
//   - runs one ingest (HTTP on $PORT, default 3000) and one worker; Ctrl-C stops them all;
//   - opens GET /status to anyone (STATUS_PUBLIC=true) unless STATUS_PUBLIC is set.
//   `--crash` is a shortcut for SIMULATE_CRASH=charge: the charge step fails after charging, once
//   per event, so you can watch the retry reuse the same payment.
import { spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import net from 'node:net';
import { join } from 'node:path';
import { ensureDeps, ROOT } from './ensure-deps.mjs';

/** @param {string} msg */
const say = (msg) => console.error(`[oncehook] ${msg}`);
/** @type {import('node:child_process').ChildProcess[]} */
const children = [];
let stopping = false;
let reporting = false;

/**
 * @param {string} name
 * @param {string} command
 * @param {string[]} args
 * @param {Record<string, string>} [env]
 */
function run(name, command, args, env = {}) {
  const child = spawn(command, args, { cwd: ROOT, stdio: 'inherit', env: { ...process.env, ...env } });
  children.push(child);
  child.on('exit', (code, signal) => {
    if (stopping) return;
    if (code === 78) {
      say(`${name} did not start: fix the configuration it names above, then npm start again`);
      // Each app checks its own configuration as it starts: let the other report its problems too
      // before it is stopped, so that one run shows them all.
      if (!reporting) setTimeout(() => stop(78), 3000);
      reporting = true;
      if (children.every((c) => c.exitCode !== null || c.spawnargs[0] === 'redis-server')) stop(78);
      return;
    }
    say(`${name} exited (${signal ?? code}); stopping the rest`);
    stop(code ?? 1);
  });
  return child;
}

function stop(code = 0) {
  if (stopping) return;
  stopping = true;
  for (const child of children) child.kill('SIGTERM');
  setTimeout(() => process.exit(code), 8000).unref();
  const exited = (/** @type {import('node:child_process').ChildProcess} */ c) =>
    new Promise((r) => (c.exitCode !== null ? r(undefined) : c.on('exit', r)));
  Promise.all(children.map(exited)).then(() => process.exit(code));
}

/** @param {number} port */
const portOpen = (port) =>
  new Promise((resolve) => {
    const socket = net.connect(port, '127.0.0.1');
    socket.on('connect', () => resolve(socket.destroy() && true));
    socket.on('error', () => resolve(false));
  });

async function ensureRedis() {
  if (process.env.REDIS_URL || process.env.REDIS_CLUSTER_NODES) return;
  if (await portOpen(6379)) return say('using the Redis on 127.0.0.1:6379');
  if (spawnSync('redis-server', ['--version']).status !== 0) {
    say('no Redis on 127.0.0.1:6379 and no redis-server installed: start one, or set REDIS_URL');
    process.exit(1);
  }
  const dir = join(ROOT, '.data', 'redis');
  mkdirSync(dir, { recursive: true });
  say(`starting a development Redis on 127.0.0.1:6379 (AOF persistence, data in ${dir})`);
  run('redis-server', 'redis-server', [
    '--port',
    '6379',
    '--bind',
    '127.0.0.1',
    '--dir',
    dir,
    '--appendonly',
    'yes',
    '--appendfsync',
    'everysec',
    '--save',
    '',
  ]);
  for (let i = 0; i < 100 && !(await portOpen(6379)); i++) await new Promise((r) => setTimeout(r, 100));
}

ensureDeps();
await ensureRedis();
// Logs for a person reading a terminal; LOG_FORMAT=json keeps them machine-readable.
/** @type {Record<string, string>} */
const env = { LOG_FORMAT: process.env.LOG_FORMAT || 'pretty' };
if (process.argv.includes('--crash')) env.SIMULATE_CRASH = 'charge';
if (env.SIMULATE_CRASH) say("SIMULATE_CRASH=charge: each event's first charge attempt fails after charging");
if (!process.env.ADMIN_TOKEN) {
  // A first try gets a dashboard, but never an open one: a fresh token, printed once.
  env.ADMIN_TOKEN = `dev-${randomBytes(9).toString('base64url')}`;
  say(
    `dashboard: http://localhost:${process.env.PORT || 3000}/admin/queues (any user, password ${env.ADMIN_TOKEN})`,
  );
}
// The quickstart's `curl localhost:3000/status/…` works without credentials: an explicit opt-in,
// said out loud, since /status shows step results (payment ids, amounts, e-mail addresses).
if (!process.env.STATUS_PUBLIC) {
  env.STATUS_PUBLIC = 'true';
  say(
    'GET /status is open without credentials for this first try (STATUS_PUBLIC=true); in production it takes ADMIN_TOKEN',
  );
}
// After ensureDeps: the build needs esbuild from node_modules.
const { buildApps, builtFile } = await import('./build.mjs');
await buildApps();
run('ingest', process.execPath, ['--enable-source-maps', builtFile('ingest')], env);
run('worker', process.execPath, ['--enable-source-maps', builtFile('worker')], env);
process.on('SIGINT', () => stop(0));
process.on('SIGTERM', () => stop(0));
