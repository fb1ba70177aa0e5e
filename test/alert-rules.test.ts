import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  adminHeaders,
  destinationsEnv,
  freePort,
  ROOT,
  type System,
  startFakeDestination,
  startSystem,
} from '@oncehook/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';

/**
 * docs/alerts.yml is only worth loading if every metric it names exists: this reads the rules and
 * checks each metric (and each label it selects on) against what the real ingest and worker
 * processes export on their /metrics.
 */
interface Rule {
  alert: string;
  expr: string;
  for?: string;
  labels: { severity: string };
  annotations: { summary: string; description?: string };
}
const rules = (
  parse(readFileSync(join(ROOT, 'docs', 'alerts.yml'), 'utf8')) as { groups: { rules: Rule[] }[] }
).groups.flatMap((g) => g.rules);
// Prometheus's own series, not an app's.
const BUILT_IN = new Set(['up']);

let sys: System;
let metricsPort: number;
let destination: Awaited<ReturnType<typeof startFakeDestination>>;
beforeAll(async () => {
  metricsPort = await freePort();
  destination = await startFakeDestination();
  const forwarding = destinationsEnv([{ name: 'copy', url: destination.url }]);
  sys = await startSystem({ workers: 1, env: { METRICS_PORT: String(metricsPort), ...forwarding } });
  // One event through (and forwarded), so that labelled series exist to check the selectors against.
  await sys.deliver('evt_metrics', 100);
  expect(await sys.waitFor(['evt_metrics'])).toEqual([]);
});
afterAll(async () => {
  await sys?.stop();
  await destination?.close();
});

/** Metric name -> the label names seen on its samples, from a Prometheus text exposition. */
function exported(text: string): Map<string, Set<string>> {
  const metrics = new Map<string, Set<string>>();
  for (const line of text.split('\n')) {
    const typed = /^# TYPE (\S+) (\w+)/.exec(line);
    if (typed) metrics.set(typed[1] as string, metrics.get(typed[1] as string) ?? new Set());
    const sample = /^([a-z_:][a-z0-9_:]*)\{([^}]*)\}/.exec(line);
    if (!sample) continue;
    const name = (sample[1] as string).replace(/_(bucket|count|sum)$/, '');
    for (const [, label] of (sample[2] as string).matchAll(/(\w+)="/g))
      metrics.get(name)?.add(label as string);
  }
  return metrics;
}

describe('docs/alerts.yml', () => {
  it('is a valid set of rules, each with a severity and a summary', () => {
    expect(rules.length).toBeGreaterThanOrEqual(5);
    for (const rule of rules) {
      expect(rule.alert, JSON.stringify(rule)).toMatch(/^Oncehook[A-Za-z]+$/);
      expect(['page', 'warn']).toContain(rule.labels.severity);
      expect(rule.annotations.summary.length).toBeGreaterThan(10);
      if (rule.for) expect(rule.for).toMatch(/^\d+[smh]$/);
    }
    const names = rules.map((r) => r.alert);
    expect(new Set(names).size).toBe(names.length);
  });

  it('names only metrics, and labels, that the ingest and the worker export', async () => {
    const ingest = await (await fetch(`${sys.base}/metrics`, { headers: adminHeaders() })).text();
    const worker = await (await fetch(`http://127.0.0.1:${metricsPort}/metrics`)).text();
    const all = new Map([...exported(ingest), ...exported(worker)]);
    for (const [name, labels] of exported(ingest)) for (const label of labels) all.get(name)?.add(label);

    const used = new Set<string>();
    for (const rule of rules) {
      for (const [, name, selector = ''] of rule.expr.matchAll(/\b([a-z_][a-z0-9_]*)(?:\{([^}]*)\})?/g)) {
        if (!name?.startsWith('oncehook_') && !BUILT_IN.has(name as string)) continue;
        if (BUILT_IN.has(name as string)) continue;
        used.add(name as string);
        expect(all.has(name as string), `${rule.alert}: ${name} is not exported`).toBe(true);
        for (const [, label] of selector.matchAll(/(\w+)\s*(?:=~|!~|!=|=)/g))
          expect([...(all.get(name as string) ?? [])], `${rule.alert}: ${name}{${label}}`).toContain(label);
      }
    }
    // What the issue asks to alert on, by the metrics it takes.
    for (const name of [
      'oncehook_workflow_runs_total',
      'oncehook_queue_jobs',
      'oncehook_queue_oldest_waiting_seconds',
      'oncehook_deliveries_total',
      'oncehook_worker_active_jobs',
      'oncehook_destination_requests_total',
    ])
      expect(used).toContain(name);
  });
});
