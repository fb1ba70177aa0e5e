#!/usr/bin/env node
// Compiles each app to one ES module (apps/<app>/dist/main.mjs; the reconciler to
// apps/ingest/dist/reconciler.mjs) with esbuild: what `pnpm start:<app>`, `npm start`, the tests
// and the benchmarks run. Running the TypeScript through a loader at run time cost about 15 % of
// the ingest's CPU per delivery. Dependencies stay in node_modules; only the workspace's own code
// is bundled. Takes well under a second.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const ROOT = join(fileURLToPath(import.meta.url), '..', '..');
/** @param {string} dir */
const depsOf = (dir) =>
  Object.keys(JSON.parse(readFileSync(join(ROOT, dir, 'package.json'), 'utf8')).dependencies ?? {});

/** What can be built: each app's `main`, and the reconciler (apps/ingest/src/reconciler). */
export const TARGETS = {
  ingest: { app: 'ingest', entry: 'main.ts', out: 'main.mjs' },
  worker: { app: 'worker', entry: 'main.ts', out: 'main.mjs' },
  reconciler: { app: 'ingest', entry: 'reconciler/main.ts', out: 'reconciler.mjs' },
};
export const APPS = Object.keys(TARGETS);

/** @param {string[]} [names] */
export async function buildApps(names = APPS) {
  await Promise.all(
    names.map((name) => {
      const { app, entry, out } = TARGETS[/** @type {keyof typeof TARGETS} */ (name)];
      return build({
        entryPoints: [join(ROOT, 'apps', app, 'src', entry)],
        outfile: join(ROOT, 'apps', app, 'dist', out),
        bundle: true,
        platform: 'node',
        format: 'esm',
        target: 'node20',
        sourcemap: true,
        external: [...new Set([...depsOf(`apps/${app}`), ...depsOf('packages/shared')])].filter(
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
