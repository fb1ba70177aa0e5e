import type { Logger } from '@oncehook/shared';
import { parseDuration } from '@oncehook/shared';
import { Hono, type MiddlewareHandler } from 'hono';
import type { AdminEnv } from '../admin-auth.ts';
import { ApiError, unavailable } from '../errors.ts';
import { listDeadLetters } from '../replay/dead-letters.ts';
import { type ReplayDeps, type ReplayResult, replayEvent } from '../replay/replay-event.ts';
import { BULK_REPLAY_DEFAULT, BULK_REPLAY_MAX, replayFailed } from '../replay/replay-failed.ts';
import { logBulkReplay, logReplay } from '../replay-log.ts';
import { JSON_TYPE } from '../verify/json-body.ts';

const PAGE_MAX = 500;

/**
 * The operator's API for dead letters, behind the admin auth (mounted by admin.ts):
 *   POST /admin/replay/:source/:eventId   one event
 *   POST /admin/replay?state=failed&source=&since=&limit=   failed events, newest first, bounded
 *   GET  /admin/events?state=failed&source=&since=&cursor=&limit=   the dead letters, a page at a time
 * Every replay request is logged with who asked and what it answered (replay-log.ts).
 */
export function replayRoutes(deps: ReplayDeps) {
  // `operator`: the name of the token the admin auth took ("admin" for ADMIN_TOKEN), for the logs.
  const app = new Hono<AdminEnv>();

  // Bodies are not read here; a form (or text) body is refused all the same: it is what a page on
  // another site can send without asking the browser first.
  const bodyCheck = jsonOrNoBody(deps.log);
  app.use('/admin/replay', bodyCheck).use('/admin/replay/*', bodyCheck);

  app.post('/admin/replay/:source/:eventId{.+}', async (c) => {
    const asked = {
      by: c.get('operator'),
      via: 'api' as const,
      source: c.req.param('source'),
      eventId: c.req.param('eventId'),
    };
    const result = await replayEvent(deps, asked.source, asked.eventId, asked.by).catch((err) => {
      logReplay(deps.log, asked, 'unavailable');
      throw unavailable(err, 'the event was not replayed');
    });
    logReplay(deps.log, asked, result.kind, 'state' in result ? result.state : undefined);
    return c.json(answer(result));
  });

  app.post('/admin/replay', async (c) => {
    const asked = { by: c.get('operator'), via: 'api' as const, query: c.req.query() };
    try {
      const query = filters(c.req.query());
      const limit = bounded(c.req.query('limit'), BULK_REPLAY_DEFAULT, BULK_REPLAY_MAX);
      const report = await replayFailed(deps, { ...query, limit }, asked.by).catch((err) => {
        throw unavailable(err, 'nothing was replayed');
      });
      logBulkReplay(deps.log, asked, report);
      return c.json({
        replayed: report.replayed.map(({ kind: _, ...r }) => r),
        skipped: report.skipped,
        more: report.more,
      });
    } catch (err) {
      logBulkReplay(deps.log, asked, { outcome: err instanceof ApiError ? err.code : 'internal' });
      throw err;
    }
  });

  app.get('/admin/events', async (c) => {
    const query = filters(c.req.query());
    const limit = bounded(c.req.query('limit'), 50, PAGE_MAX);
    const cursor = bounded(c.req.query('cursor'), 0, Number.MAX_SAFE_INTEGER, 0);
    const page = await listDeadLetters(deps, { ...query, cursor, limit }).catch((err) => {
      throw unavailable(err, 'the dead letters could not be listed');
    });
    return c.json({
      events: page.events,
      nextCursor: page.nextCursor === null ? null : String(page.nextCursor),
    });
  });
  return app;
}

function answer(result: ReplayResult) {
  const { source, eventId } = result;
  switch (result.kind) {
    case 'replayed':
      return { replayed: true, source, eventId, replays: result.replays, workflows: result.workflows };
    case 'noop':
      return {
        replayed: false,
        source,
        eventId,
        state: result.state,
        message: `Nothing to replay: the event is ${result.state}.`,
      };
    case 'not_found':
      throw new ApiError(
        'not_found',
        `No accepted event "${eventId}" from source "${source}" (or its record expired, and with it the markers a replay needs).`,
      );
    case 'not_failed':
      throw new ApiError(
        'not_failed',
        `The event is ${result.state}: only an event that failed for good is replayed.`,
      );
    case 'raced':
      throw new ApiError('replay_raced', 'Another replay of this event started first: it runs once.');
    case 'job_gone':
      throw new ApiError(
        'job_gone',
        "No job holds the event's body any more (removed by hand): it cannot be run again from here.",
      );
  }
}

/** state=failed (the only state dead letters are in), source, since (a duration back: 24h). */
function filters(q: Record<string, string>) {
  if (q.state !== undefined && q.state !== 'failed')
    throw new ApiError('invalid_query', `state: only "failed" is listed or replayed, not "${q.state}".`);
  let since: number | undefined;
  if (q.since !== undefined) {
    const seconds = parseDuration(q.since);
    if (seconds === null)
      throw new ApiError('invalid_query', `since: "${q.since}" is not a duration (90m, 24h, 7d).`);
    since = Date.now() - seconds * 1000;
  }
  return { ...(q.source ? { source: q.source } : {}), ...(since !== undefined ? { since } : {}) };
}

function bounded(value: string | undefined, fallback: number, max: number, min = 1): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!Number.isInteger(n) || n < min || n > max)
    throw new ApiError('invalid_query', `"${value}" is not a whole number from ${min} to ${max}.`);
  return n;
}

/** A POST to the admin API carries JSON or nothing; a refused one is logged like any replay request. */
const jsonOrNoBody = (log: Logger): MiddlewareHandler<AdminEnv> =>
  async function jsonOrNoBody(c, next) {
    if (c.req.method !== 'POST') return next();
    const type = c.req.header('content-type');
    const hasBody =
      Number(c.req.header('content-length') ?? 0) > 0 || c.req.header('transfer-encoding') !== undefined;
    if (type ? !JSON_TYPE.test(type) : hasBody) {
      log.info(
        { by: c.get('operator'), via: 'api', path: c.req.path, outcome: 'unsupported_media_type' },
        'replay request: unsupported_media_type',
      );
      throw new ApiError(
        'unsupported_media_type',
        'The admin API takes a JSON body (Content-Type: application/json), or none.',
      );
    }
    return next();
  };
