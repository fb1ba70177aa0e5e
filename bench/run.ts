/**
 * `pnpm bench`: the ingest and the worker against bare baselines on the same machine, in the same
 * run, and what an event costs Redis. Starts its own redis-servers; prints a table and writes it
 * to bench/results.md. `pnpm bench --quick` is a smoke run of well under a minute (CI runs it, and
 * asserts nothing about times: the machine is shared).
 *
 * Load generator, apps and Redis share the machine: compare the ratios, not the absolute numbers.
 */
import { writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { join } from 'node:path';
import { buildApps } from '../scripts/build.mjs';
import { costRun } from './cost.ts';
import { durabilityRun } from './durability.ts';
import { type ForwardingRun, forwardingRun } from './forwarding.ts';
import { ingestRuns } from './ingest.ts';
import { type OrderingRun, orderingRun } from './ordering.ts';
import { outageRun } from './outage.ts';
import { type PartitionRun, partitionRun } from './partitions.ts';
import { type WorkerRun, workerRun } from './worker.ts';

const quick = process.argv.includes('--quick');
const lines: string[] = [];
const say = (line = '') => {
  lines.push(line);
  console.log(line);
};
const table = (rows: Record<string, unknown>[]) => {
  const cols = Object.keys(rows[0] ?? {});
  say(`| ${cols.join(' | ')} |`);
  say(`| ${cols.map(() => '---').join(' | ')} |`);
  for (const row of rows) say(`| ${cols.map((c) => String(row[c] ?? '')).join(' | ')} |`);
  say();
};
const ratio = (a: number, b: number) => (b > 0 ? `${(a / b).toFixed(2)}x` : '');

await buildApps();
say(`# oncehook benchmarks${quick ? ' (quick)' : ''}`);
say();
say(
  `${new Date().toISOString().slice(0, 10)}, ${cpus().length} cores (${cpus()[0]?.model ?? '?'}), Node ${process.version}. Load generator, apps and Redis share the machine.`,
);
say();

say('## Ingest: deliveries per second, 50 connections');
say();
const ingest = await ingestRuns({ seconds: quick ? 2 : 8, quick });
const bare = ingest.find((r) => r.target === 'bare node:http')?.['req/s'] ?? 0;
const plain = ingest.find((r) => r.target.startsWith('plain') && r.deliveries === 'unique')?.['req/s'] ?? 0;
table(
  ingest.map((r) => ({
    target: r.target,
    deliveries: r.deliveries,
    'req/s': r['req/s'],
    'vs bare': ratio(r['req/s'], bare),
    'vs plain Hono': ratio(r['req/s'], plain),
    'p50 ms': r.p50,
    'p99 ms': r.p99,
    'p99.9 ms': r.p999,
    'non-2xx': r.non2xx + r.errors,
  })),
);

say('## Worker: events per second (demo payment: charge, receipt, ledger), concurrency 50');
say();
const events = quick ? 300 : 3000;
const worker: WorkerRun[] = [];
for (const target of ['bare BullMQ (no-op)', 'bare BullMQ (HTTP APIs)', 'oncehook (HTTP APIs)'] as const) {
  worker.push(await workerRun(target, 1, events));
}
for (const processes of quick ? [1] : [1, 2, 4])
  worker.push(await workerRun('oncehook (simulators)', processes, events));
const bareHttp = worker.find((r) => r.target === 'bare BullMQ (HTTP APIs)')?.['events/s'] ?? 0;
table(
  worker.map((r) => ({
    target: r.target,
    processes: r.processes,
    events: r.events,
    'events/s': r['events/s'],
    'vs bare BullMQ, same effects': r.target.includes('HTTP') ? ratio(r['events/s'], bareHttp) : '',
    failed: r.failed,
  })),
);

say(
  '## Forwarding: events per second to a local HTTP server (it reads the body, answers 200), concurrency 50',
);
say();
const forwarding: ForwardingRun[] = [];
// Alternated, so that the shared machine's load falls on both alike.
for (let round = 0; round < (quick ? 1 : 2); round++)
  for (const target of ['bare BullMQ + fetch', 'oncehook forwarding'] as const)
    forwarding.push(await forwardingRun(target, events));
// Each oncehook run against the bare run just before it.
table(
  forwarding.map((r, i) => ({
    ...r,
    'vs bare, same round': i % 2 ? ratio(r['events/s'], forwarding[i - 1]?.['events/s'] ?? 0) : '',
  })),
);

say('## Worker: per-object ordering (subscription mirror, simulators), 1 process, concurrency 50');
say();
const ordering: OrderingRun[] = [];
for (const subscriptions of [1000, 1])
  for (const keyed of [false, true]) ordering.push(await orderingRun(keyed, subscriptions, events));
table(
  ordering.map((r) => {
    const unkeyed = ordering.find((o) => o.subscriptions === r.subscriptions && o['ordering key'] === 'none');
    return { ...r, 'vs no key': ratio(r['events/s'], unkeyed?.['events/s'] ?? 0) };
  }),
);

say('## Worker scale-out on a 3-master Redis Cluster (2 worker processes, demo payment, simulators)');
say();
const onCluster: PartitionRun[] = [];
for (const partitions of [1, 3]) onCluster.push(await partitionRun(partitions, 2, events));
const onePartition = onCluster[0]?.['events/s'] ?? 0;
table(onCluster.map((r) => ({ ...r, 'vs 1 partition': ratio(r['events/s'], onePartition) })));

say('## What an event costs Redis');
say();
table(await costRun(quick ? 200 : 2000));

say('## What a 200 survives');
say();
table(await durabilityRun({ seconds: quick ? 2 : 8, n: quick ? 100 : 1000 }));

if (!quick) {
  say('## Redis going away');
  say();
  table(await outageRun());
}

if (!quick) writeFileSync(join(import.meta.dirname, 'results.md'), `${lines.join('\n')}\n`);
process.exit(0);
