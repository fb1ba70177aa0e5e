import { parseArgs } from 'node:util';
import { parseSince } from '@oncehook/shared';
import { RECONCILED_SOURCES, type ReconciledSource } from './sources/registry.ts';

export const USAGE = `usage: npm run reconcile -- [--source stripe|github] [--since 72h|<ISO date>]
       npm run start:reconciler -- [--source stripe|github]
  --source   one source (repeatable); default: every configured one
  --since    a one-off run over events since then (a duration back from now: 90m, 72h, 30d; or a
             date); default: since the checkpoint the last run left
  --once     run once and exit (what npm run reconcile does); otherwise every RECONCILE_INTERVAL
Exit codes: 0 done, 1 a run failed, 2 bad arguments, 75 another reconciler was running, 78 bad
configuration (docs/reconciliation.md).`;

export type Args =
  | { ok: true; once: boolean; sources?: ReconciledSource[]; since?: number }
  | { ok: false; message: string };

export function parseReconcilerArgs(argv: string[], nowSeconds: number): Args {
  let parsed: ReturnType<typeof parse>;
  try {
    parsed = parse(argv);
  } catch (err) {
    return { ok: false, message: (err as Error).message };
  }
  const { once, source, since, help } = parsed.values;
  if (help) return { ok: false, message: 'Finds the events a provider never delivered, and recovers them.' };
  const unknown = source?.find((s) => !(RECONCILED_SOURCES as readonly string[]).includes(s));
  if (unknown !== undefined)
    return { ok: false, message: `--source: "${unknown}" is not one of ${RECONCILED_SOURCES.join(', ')}` };
  if (since !== undefined && !once) return { ok: false, message: '--since is for a one-off run (--once)' };
  const from = since === undefined ? undefined : parseSince(since, nowSeconds);
  if (from === null || (from !== undefined && from > nowSeconds))
    return { ok: false, message: `--since: "${since}" is neither a duration (72h) nor a past date` };
  return {
    ok: true,
    once: Boolean(once),
    ...(source ? { sources: [...new Set(source)] as ReconciledSource[] } : {}),
    ...(from !== undefined ? { since: from } : {}),
  };
}

const parse = (args: string[]) =>
  parseArgs({
    args,
    options: {
      once: { type: 'boolean' },
      source: { type: 'string', multiple: true },
      since: { type: 'string' },
      help: { type: 'boolean' },
    },
  });
