#!/usr/bin/env node
// `pnpm size`: the product's lines of code — non-blank lines that are not comments (`//`, `/* */`,
// and Lua's `--` inside the scripts) in the apps' and packages' TypeScript — against the budget
// the README states. Tests, test support (`testing/`, packages/testing), examples and benchmarks
// are not the product and are not counted. Exits 1 over the budget.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

export const BUDGET = 7000;
const ROOT = join(fileURLToPath(import.meta.url), '..', '..');

/** @param {string} text */
export function codeLines(text) {
  let n = 0;
  let inBlock = false;
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (inBlock) {
      if (line.includes('*/')) inBlock = false;
      continue;
    }
    if (!line || line.startsWith('//') || line.startsWith('--') || line.startsWith('*')) continue;
    if (line.startsWith('/*')) {
      inBlock = !line.includes('*/');
      continue;
    }
    n++;
  }
  return n;
}

/** @param {string} dir @returns {string[]} */
function sources(dir) {
  const out = [];
  for (const name of readdirSync(dir)) {
    const path = join(dir, name);
    if (name === 'node_modules' || name === 'dist' || name === 'testing') continue;
    if (statSync(path).isDirectory()) out.push(...sources(path));
    else if (name.endsWith('.ts') && !name.endsWith('.test.ts') && !name.endsWith('.d.ts')) out.push(path);
  }
  return out;
}

/** Lines per package (`apps/ingest`, …), and the total. */
export function measure() {
  /** @type {Record<string, number>} */
  const parts = {};
  for (const group of ['apps', 'packages']) {
    for (const pkg of readdirSync(join(ROOT, group))) {
      const src = join(ROOT, group, pkg, 'src');
      if (pkg === 'testing' || !statSync(src, { throwIfNoEntry: false })?.isDirectory()) continue;
      parts[`${group}/${pkg}`] = sources(src).reduce((n, f) => n + codeLines(readFileSync(f, 'utf8')), 0);
    }
  }
  return { parts, total: Object.values(parts).reduce((a, b) => a + b, 0) };
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const { parts, total } = measure();
  for (const [name, n] of Object.entries(parts))
    console.log(`${String(n).padStart(6)}  ${relative('.', join(ROOT, name)) || name}`);
  console.log(
    `${String(total).padStart(6)}  lines of product code (budget ${BUDGET.toLocaleString('en-US')})`,
  );
  if (total > BUDGET) {
    console.log(`over the budget by ${total - BUDGET} lines`);
    process.exit(1);
  }
}
