import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { dedupeWindow } from '@oncehook/shared';
import { parseIngestEnv } from '../apps/ingest/src/env.ts';
import { PROVIDER_LIST, type ProviderName } from '../apps/ingest/src/providers/registry.ts';
import type { ProviderModule } from '../apps/ingest/src/verify/types.ts';
import { PROVIDER_DOCS } from './provider-docs.ts';

/**
 * The tables of docs/providers.md that describe the built-in providers, generated from their
 * modules: `npm run docs:providers` writes them; a test checks they are current.
 */
const providers = PROVIDER_LIST as readonly ProviderModule[];
const cell = (text: string) => text.replaceAll('|', '\\|').replaceAll('\n', ' ');
const code = (text: string) => `\`${text}\``;

export function duration(seconds: number): string {
  const [amount, unit] =
    seconds % 86_400 === 0
      ? [seconds / 86_400, 'day']
      : seconds % 3600 === 0
        ? [seconds / 3600, 'hour']
        : [seconds, 'second'];
  return `${amount} ${unit}${amount === 1 ? '' : 's'}`;
}

function table(header: string[], rows: string[][]): string {
  return [header, header.map(() => '---'), ...rows].map((r) => `| ${r.map(cell).join(' | ')} |`).join('\n');
}

export function providersTable(): string {
  return table(
    [
      'source',
      'set up in the provider',
      'headers (required; then optional)',
      'event id (dedupe key)',
      'refused, besides a bad signature',
    ],
    providers.map((p) => [
      `${code(p.name)} (${PROVIDER_DOCS[p.name as ProviderName].title})`,
      PROVIDER_DOCS[p.name as ProviderName].configure,
      [
        PROVIDER_DOCS[p.name as ProviderName].requiredHeaders.map(code).join(', '),
        ...(PROVIDER_DOCS[p.name as ProviderName].otherHeaders ?? []),
      ]
        .filter(Boolean)
        .join('; '),
      PROVIDER_DOCS[p.name as ProviderName].eventId,
      PROVIDER_DOCS[p.name as ProviderName].refused,
    ]),
  );
}

export function windowsTable(): string {
  const defaults = parseIngestEnv({});
  return table(
    ['source', 'documented re-delivery', "provider's window", 'window by default'],
    providers.map((p) => [
      code(p.name),
      p.window.source,
      duration(p.window.seconds),
      duration(dedupeWindow(defaults, p.name, p.window.seconds)),
    ]),
  );
}

export function orderingTable(): string {
  return table(
    ['source', 'ordering key (the object), and the time events of one key run in'],
    providers.map((p) => [
      code(p.name),
      PROVIDER_DOCS[p.name as ProviderName].ordering ?? 'none: events run as they come',
    ]),
  );
}

const BLOCKS = { providers: providersTable, windows: windowsTable, ordering: orderingTable };

/** The document with every generated block (between `<!-- <name>:start -->` and `:end -->`) rewritten. */
export function withGeneratedTables(markdown: string): string {
  let out = markdown;
  for (const [name, render] of Object.entries(BLOCKS)) {
    const start = `<!-- ${name}:start (generated from the provider modules: npm run docs:providers) -->`;
    const end = `<!-- ${name}:end -->`;
    const from = out.indexOf(start);
    const to = out.indexOf(end);
    if (from < 0 || to < from) throw new Error(`docs/providers.md has no ${name} block`);
    out = `${out.slice(0, from + start.length)}\n${render()}\n${out.slice(to)}`;
  }
  return out;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const file = join(import.meta.dirname, '..', 'docs', 'providers.md');
  writeFileSync(file, withGeneratedTables(readFileSync(file, 'utf8')));
  console.log(`${file}: provider tables written`);
}
