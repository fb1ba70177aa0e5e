#!/usr/bin/env node
// Installs the workspace's dependencies when they are missing or older than the lockfile, with
// the pnpm version pinned in package.json (run through npx: nothing needs to be installed first).
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');

export function pnpmVersion() {
  const pm = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')).packageManager;
  return pm.replace(/^pnpm@/, '').split('+')[0];
}

export function ensureDeps() {
  const marker = join(ROOT, 'node_modules', '.modules.yaml');
  const lock = join(ROOT, 'pnpm-lock.yaml');
  if (existsSync(marker) && statSync(marker).mtimeMs >= statSync(lock).mtimeMs) return;
  console.error('[oncehook] installing dependencies (pnpm install --frozen-lockfile)…');
  execFileSync('npx', ['-y', `pnpm@${pnpmVersion()}`, 'install', '--frozen-lockfile'], {
    cwd: ROOT,
    stdio: 'inherit',
  });
}

if (process.argv[1] === fileURLToPath(import.meta.url)) ensureDeps();
