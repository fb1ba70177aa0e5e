#!/usr/bin/env node
// Compiles each process to one ES module with esbuild: what `npm run start:<app>`, `npm start`, the
// tests and the benchmarks run — the example's ingest and worker (examples/payments/dist), and the
// reconciler (apps/reconciler/dist). Running the TypeScript through a loader at run time cost about
// 15 % of the ingest's CPU per delivery. Dependencies stay in node_modules; only the workspace's
// own code is bundled. Takes well under a second. (The published packages are compiled by tsc:
// scripts/pack-release.mjs.)
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const ROOT = join(fileURLToPath(import.meta.url), '..', '..');
/** @param {string} dir */
const depsOf = (dir) =>
  Object.keys(JSON.parse(readFileSync(join(ROOT, dir, 'package.json'), 'utf8')).dependencies ?? {});

/** What can be built: the example's two processes, the reconciler and the worker's bin; where their code comes from. */
export const TARGETS = {
  ingest: { dir: 'examples/payments', entry: 'ingest.ts', uses: ['apps/ingest'] },
  worker: { dir: 'examples/payments', entry: 'worker.ts', uses: ['apps/worker'] },
  reconciler: { dir: 'apps/reconciler', entry: 'main.ts', uses: ['apps/ingest'] },
  // `oncehook-worker`: a worker with the destinations of DESTINATIONS_FILE only. Not in dist/,
  // which scripts/pack-release.mjs clears and fills with tsc's output for the published package.
  forwarder: { dir: 'apps/worker', entry: 'main.ts', uses: [], out: 'dist-bin' },
};
/** @param {keyof typeof TARGETS} name */
export const builtFile = (name) => {
  const {
    dir,
    entry,
    out = 'dist',
  } = /** @type {{ dir: string, entry: string, out?: string }} */ (TARGETS[name]);
  return join(ROOT, dir, out, `${entry.replace(/\.ts$/, '')}.mjs`);
};
export const APPS = Object.keys(TARGETS);

/** @param {string[]} [names] */
export async function buildApps(names = APPS) {
  await Promise.all(
    names.map((name) => {
      const target = /** @type {keyof typeof TARGETS} */ (name);
      const { dir, entry, uses } = TARGETS[target];
      return build({
        entryPoints: [join(ROOT, dir, 'src', entry)],
        outfile: builtFile(target),
        bundle: true,
        platform: 'node',
        format: 'esm',
        target: 'node20',
        sourcemap: true,
        external: [...new Set([dir, ...uses, 'packages/shared'].flatMap(depsOf))].filter(
          (d) => !d.startsWith('@oncehook/'),
        ),
        logLevel: 'warning',
      });
    }),
  );
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const apps = process.argv.slice(2).filter((a) => APPS.includes(a));
  await buildApps(apps.length > 0 ? apps : APPS);
}
