import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sleep } from '@oncehook/testing';
import { check, type Findings, type Violation } from './checker.ts';
import { runFaults } from './faults.ts';
import { type Load, type SentEvent, startLoad } from './load.ts';
import { operator } from './operator.ts';
import { random } from './random.ts';
import { formatSchedule, schedule } from './schedule.ts';
import type { Mode } from './store.ts';
import { retries, startTopology, type Topology } from './topology.ts';

export interface ChaosOptions {
  seed: number;
  /** Minutes of load and faults (fractions allowed). */
  minutes: number;
  mode: Mode;
  /** New events a second. */
  rate?: number;
  /** Where each line of the report goes as it is written (default: stdout). */
  print?: (line: string) => void;
  /** Keep the logs directory of a clean run too. */
  keepLogs?: boolean;
  /** On a violation, keep everything running after the report until torn down (to look around). */
  hold?: boolean;
  /** Called with a function that tears everything down at once (for Ctrl-C). */
  onTeardown?: (teardown: () => Promise<void>) => void;
}

export interface ChaosResult {
  violations: Violation[];
  /** One line for the table in docs/guarantees.md. */
  summary: string;
  report: string;
  /** The processes' logs and the report (kept when the run found something). */
  dir: string;
}

export const DEFAULT_RATE = 8;

const reproduce = (o: ChaosOptions) =>
  `npm run chaos -- --seed ${o.seed} --minutes ${o.minutes} --mode ${o.mode}${o.rate && o.rate !== DEFAULT_RATE ? ` --rate ${o.rate}` : ''}`;

/**
 * One chaos run: the topology, the load and the seed's faults for `minutes`, then healing and the
 * check. Everything it started is stopped before it returns.
 */
export async function runChaos(options: ChaosOptions): Promise<ChaosResult> {
  const { seed, minutes, mode, rate = DEFAULT_RATE, print = console.log } = options;
  const dir = mkdtempSync(join(tmpdir(), `oncehook-chaos-${mode}-${seed}-`));
  const lines: string[] = [];
  const say = (line: string) => {
    lines.push(line);
    print(line);
  };
  const seconds = Math.round(minutes * 60);
  const faults = schedule(seed, mode, seconds);
  const faultCount = faults.filter((f) => !f.kind.startsWith('replay')).length;
  say(`oncehook chaos: seed ${seed}, mode ${mode}, ${minutes} min of load and faults, ${rate} new events/s`);
  say(`reproduce: ${reproduce(options)}`);
  say(
    `retries: ${Object.entries(retries(seed))
      .map(([k, v]) => `${k}=${v}`)
      .join(' ')}`,
  );
  say(`fault schedule (${faultCount} faults, ${faults.length - faultCount} operator actions):`);
  say(formatSchedule(faults));

  let t0 = Date.now();
  const elapsed = () => (Date.now() - t0) / 1000;
  let topology: Topology | undefined;
  let load: Load | undefined;
  const teardown = async () => {
    load?.abort();
    await topology?.stop();
    topology = undefined;
  };
  options.onTeardown?.(teardown);
  let findings: Findings;
  try {
    topology = await startTopology({ mode, seed, dir, elapsed });
    say(
      `topology: ${topology.store.describe()}; ingests on ${topology.bases().join(', ')}; 3 workers; logs in ${dir}`,
    );
    say('run:');
    t0 = Date.now();
    load = startLoad({ seed, rate, t0, bases: topology.bases, apis: topology.apis });
    const admin = operator(topology.bases, say);
    const run = runFaults({ faults, topology, admin, rng: random(seed, 'operator'), t0, say });
    await sleep(seconds * 1000);
    load.stopMaking();
    say(`  +${elapsed().toFixed(1).padStart(6)}s  no new events; waiting for the faults under way to end`);
    await run.done;
    await topology.heal();
    say(`  +${elapsed().toFixed(1).padStart(6)}s  healed: ${topology.store.describe()}; every process up`);
    // Every copy is re-sent until answered 200; after healing that should not take long.
    const settled = await within(load.settled(), 120_000);
    if (!settled) load.abort();
    say(
      `  +${elapsed().toFixed(1).padStart(6)}s  ${settled ? 'every delivery answered 200' : `${load.unanswered()} deliveries still unanswered`}`,
    );
    say('check:');
    findings = await check({ load, topology, admin, say });
    if (options.hold && findings.violations.length > 0) {
      say(formatViolations(findings.violations));
      say(
        `holding: everything stays up (QUEUE_PREFIX=${topology.prefix}, ${topology.store.describe()}, ingests ${topology.bases().join(', ')}) until Ctrl-C`,
      );
      await new Promise(() => {});
    }
  } finally {
    await teardown();
  }

  const { violations } = findings;
  const events = [...(load?.events.values() ?? [])];
  say('');
  say(describeLoad(events));
  say(
    `counts: ${Object.entries(findings.counts)
      .map(([k, v]) => `${k} ${v}`)
      .join(', ')}`,
  );
  for (const note of findings.notes) say(`note: ${note}`);
  const kinds = byKind(violations);
  if (violations.length === 0) say('result: CLEAN (no violation)');
  else {
    say(formatViolations(violations));
    say(`fault schedule of seed ${seed} (${mode}, ${minutes} min):`);
    say(formatSchedule(faults));
    say(`reproduce: ${reproduce(options)}`);
    say(`logs: ${dir}`);
  }
  const result =
    violations.length === 0
      ? 'clean'
      : [...kinds].map(([kind, list]) => `${kind} ×${list.length}`).join(', ');
  const summary = `| ${mode} | ${seed} | ${minutes} | ${events.length} events, ${faultCount} faults, ${faults.length - faultCount} operator actions | ${result} |`;
  say(`summary: ${summary}`);
  const report = lines.join('\n');
  writeFileSync(join(dir, 'report.txt'), report);
  if (violations.length === 0 && !options.keepLogs) rmSync(dir, { recursive: true, force: true });
  return { violations, summary, report, dir };
}

function byKind(violations: Violation[]) {
  const kinds = new Map<string, Violation[]>();
  for (const v of violations) kinds.set(v.kind, [...(kinds.get(v.kind) ?? []), v]);
  return kinds;
}

function formatViolations(violations: Violation[]): string {
  const lines = [`result: ${violations.length} VIOLATIONS`];
  for (const [kind, list] of byKind(violations)) {
    lines.push(`  [${kind}] ×${list.length}`);
    for (const v of list.slice(0, 12)) lines.push(`    ${v.detail}`);
    if (list.length > 12) lines.push(`    ... and ${list.length - 12} more`);
  }
  return lines.join('\n');
}

function describeLoad(events: SentEvent[]): string {
  const by = (kind: string) => events.filter((e) => e.kind === kind);
  const objects = (kind: string) => new Set(by(kind).map((e) => e.object)).size;
  const refused: Record<string, number> = {};
  for (const e of events)
    for (const [status, n] of Object.entries(e.refused)) refused[status] = (refused[status] ?? 0) + n;
  const copies = events.reduce((n, e) => n + e.copies, 0);
  return [
    `load: ${events.length} events: ${by('payment').length} payments, ${by('subscription').length} subscription events (${objects('subscription')} subscriptions),`,
    `${by('account').length} account events (${objects('account')} accounts), ${by('invoice').length} invoices;`,
    `${copies} deliveries, refused on the way: ${
      Object.entries(refused)
        .map(([s, n]) => `${s === '0' ? 'no answer' : s} ×${n}`)
        .join(', ') || 'none'
    }`,
  ].join(' ');
}

/** True if `promise` settles within `ms`; the timer does not outlive it. */
async function within(promise: Promise<unknown>, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<false>((resolve) => {
    timer = setTimeout(() => resolve(false), ms);
  });
  try {
    return await Promise.race([promise.then(() => true as const), timeout]);
  } finally {
    clearTimeout(timer);
  }
}
