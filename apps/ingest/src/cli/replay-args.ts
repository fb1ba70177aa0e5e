import { parseArgs } from 'node:util';
import { parseDuration } from '@oncehook/shared';
import { BULK_REPLAY_DEFAULT, BULK_REPLAY_MAX } from '../replay/replay-failed.ts';

export const USAGE = `usage: npm run replay -- --source <source> --event <event id>
       npm run replay -- --failed [--source <source>] [--since 24h] [--limit ${BULK_REPLAY_DEFAULT}]
  --event    replay one failed event: the steps it did keep their markers, the rest run again
  --failed   replay the failed events (newest first), at most --limit (1-${BULK_REPLAY_MAX}); not
             those that failed on a permanent error: replay each by its id once its cause is fixed
  --since    only those that failed within this long (90m, 24h, 7d)
Same as POST /admin/replay, for operators without HTTP access: it reads REDIS_URL, QUEUE_PREFIX
and QUEUE_PARTITIONS as the ingest does.`;

export type ReplayArgs =
  | { ok: true; mode: 'one'; source: string; eventId: string }
  | { ok: true; mode: 'failed'; source?: string; sinceSeconds?: number; limit: number }
  | { ok: false; message: string };

export function parseReplayArgs(argv: string[]): ReplayArgs {
  let values: ReturnType<typeof parse>['values'];
  try {
    values = parse(argv).values;
  } catch (err) {
    return { ok: false, message: (err as Error).message };
  }
  if (values.help) return { ok: false, message: 'Replays failed events.' };
  if (values.event !== undefined) {
    if (values.failed) return { ok: false, message: '--event and --failed: one or the other' };
    if (!values.source) return { ok: false, message: '--event needs --source' };
    return { ok: true, mode: 'one', source: values.source, eventId: values.event };
  }
  if (!values.failed) return { ok: false, message: 'give --event <id> (with --source) or --failed' };
  const sinceSeconds = values.since === undefined ? undefined : parseDuration(values.since);
  if (sinceSeconds === null)
    return { ok: false, message: `--since: "${values.since}" is not a duration (24h)` };
  const limit = values.limit === undefined ? BULK_REPLAY_DEFAULT : Number(values.limit);
  if (!Number.isInteger(limit) || limit < 1 || limit > BULK_REPLAY_MAX)
    return { ok: false, message: `--limit: a whole number from 1 to ${BULK_REPLAY_MAX}` };
  return {
    ok: true,
    mode: 'failed',
    limit,
    ...(values.source ? { source: values.source } : {}),
    ...(sinceSeconds !== undefined ? { sinceSeconds } : {}),
  };
}

const parse = (args: string[]) =>
  parseArgs({
    args,
    options: {
      source: { type: 'string' },
      event: { type: 'string' },
      failed: { type: 'boolean' },
      since: { type: 'string' },
      limit: { type: 'string' },
      help: { type: 'boolean' },
    },
  });
