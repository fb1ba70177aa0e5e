import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { PartitionedQueues } from '@oncehook/shared';
import type { Registry } from 'prom-client';
import { createMetrics } from '../apps/ingest/src/metrics.ts';
import { createReconcilerMetrics } from '../apps/reconciler/src/metrics.ts';
import { createWorkerMetrics } from '../apps/worker/src/observability/metrics.ts';

/**
 * The metrics table of docs/operations.md, generated from the registries the processes export
 * (`npm run docs:metrics` writes it; a test checks it is current): each metric with its labels, the
 * processes that export it, and its help text. Node's process metrics are left out.
 */
const REGISTRIES: [string, Registry][] = [
  ['ingest', createMetrics({ pairs: () => [] } as unknown as PartitionedQueues).registry],
  ['worker', createWorkerMetrics(() => []).registry],
  ['reconciler', createReconcilerMetrics().registry],
];
const PROCESS_METRICS = /^oncehook_(ingest|worker|reconciler)_(?!duration|active)/;

export function metricsTable(): string {
  const rows = new Map<string, { apps: string[]; help: string }>();
  for (const [app, registry] of REGISTRIES) {
    for (const metric of registry.getMetricsAsArray()) {
      const { name, help, labelNames } = metric as unknown as {
        name: string;
        help: string;
        labelNames: string[];
      };
      if (PROCESS_METRICS.test(name)) continue;
      const id = labelNames.length > 0 ? `${name}{${labelNames.join(',')}}` : name;
      const row = rows.get(id) ?? { apps: [], help };
      row.apps.push(app);
      rows.set(id, row);
    }
  }
  const cell = (text: string) => text.replaceAll('|', '\\|');
  return [
    '| metric | exported by | what |',
    '| --- | --- | --- |',
    ...[...rows].map(([id, { apps, help }]) => `| \`${id}\` | ${apps.join(', ')} | ${cell(help)} |`),
  ].join('\n');
}

const START = "<!-- metrics:start (generated from the processes' registries: npm run docs:metrics) -->";
const END = '<!-- metrics:end -->';

/** The document with its generated metrics table rewritten. */
export function withMetricsTable(markdown: string): string {
  const from = markdown.indexOf(START);
  const to = markdown.indexOf(END);
  if (from === -1 || to === -1) throw new Error(`docs/operations.md: no ${START} … ${END} block`);
  return `${markdown.slice(0, from + START.length)}\n${metricsTable()}\n${markdown.slice(to)}`;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const file = join(import.meta.dirname, '..', 'docs', 'operations.md');
  writeFileSync(file, withMetricsTable(readFileSync(file, 'utf8')));
  console.log(`${file}: metrics table written`);
  process.exit(0);
}
