#!/usr/bin/env node
// `npm run pack:release -- <dir>`: every publishable package compiled (JavaScript and type
// declarations, by tsc) and packed into <dir> as the tarball `npm publish` would upload:
// @oncehook/shared, @oncehook/worker, @oncehook/ingest. pnpm writes their manifests as published
// (publishConfig's exports and bin; `workspace:*` becomes the version).
import { execFileSync } from 'node:child_process';
import { mkdirSync, readdirSync, rmSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { pnpmVersion } from './ensure-deps.mjs';

const ROOT = join(fileURLToPath(import.meta.url), '..', '..');
export const PUBLISHED = ['packages/shared', 'apps/worker', 'apps/ingest'];

/** @param {string} dir @returns {string[]} the tarballs written */
export function packRelease(dir) {
  const out = resolve(dir);
  mkdirSync(out, { recursive: true });
  const tsc = join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc');
  const pnpm = process.env.npm_execpath?.includes('pnpm')
    ? [process.execPath, process.env.npm_execpath]
    : ['npx', '-y', `pnpm@${pnpmVersion()}`];
  for (const pkg of PUBLISHED) {
    const cwd = join(ROOT, pkg);
    rmSync(join(cwd, 'dist'), { recursive: true, force: true });
    execFileSync(process.execPath, [tsc, '-p', 'tsconfig.build.json'], { cwd, stdio: 'inherit' });
    const [command, ...args] = /** @type {[string, ...string[]]} */ (pnpm);
    execFileSync(command, [...args, 'pack', '--pack-destination', out], {
      cwd,
      stdio: ['ignore', 'pipe', 'inherit'],
    });
  }
  return readdirSync(out)
    .filter((f) => f.endsWith('.tgz'))
    .map((f) => join(out, f));
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const dir = process.argv[2];
  if (!dir) {
    console.error('usage: npm run pack:release -- <dir>');
    process.exit(2);
  }
  for (const file of packRelease(dir)) console.log(file);
}
