import type { Logger } from '@oncehook/shared';
import type { MiddlewareHandler } from 'hono';
import type { AdminEnv } from '../admin-auth.ts';
import { ApiError } from '../errors.ts';

export interface DashboardWriteDeps {
  log: Logger;
  /** ADMIN_DASHBOARD_WRITE: every write Bull Board offers, not only retrying failed jobs. */
  writable: boolean;
  /** A job's state, by the dashboard's queue name (`events`, `p1of3-workflows`); undefined if none. */
  jobState(queueName: string, jobId: string): Promise<string | undefined>;
}

/**
 * What the dashboard may change (everything under `<board>/api` that is not a GET), and a log line
 * with the operator's name for each change. Bull Board can add a job (which no signature ever
 * covered: the worker would charge it), edit a job's data, retry completed jobs, promote, pause,
 * clean and obliterate; an operator needs none of that to run a dead letter again. Unless
 * ADMIN_DASHBOARD_WRITE is set, the only writes let through are a retry of one failed job and of
 * every failed job of a queue.
 */
export function dashboardWrites(boardPath: string, deps: DashboardWriteDeps): MiddlewareHandler<AdminEnv> {
  return async function dashboardWrites(c, next) {
    if (c.req.method === 'GET' || c.req.method === 'HEAD') return next();
    // As sent (percent-encoded): a job id may hold any character, `/` included.
    const route = new URL(c.req.url).pathname.slice(boardPath.length);
    const about = { operator: c.get('operator'), method: c.req.method, route };
    if (!deps.writable && !(await retriesFailed(c.req.method, route, deps))) {
      deps.log.warn(about, 'dashboard: a write was refused (ADMIN_DASHBOARD_WRITE is off)');
      throw new ApiError(
        'dashboard_read_only',
        'The dashboard only retries failed jobs; set ADMIN_DASHBOARD_WRITE=true for its other actions.',
      );
    }
    await next();
    deps.log.info({ ...about, status: c.res.status }, 'dashboard: a change by an operator');
  };
}

/** `PUT /api/queues/<queue>/retry/failed`, or `PUT /api/queues/<queue>/<job>/retry` of a failed job. */
async function retriesFailed(method: string, route: string, deps: DashboardWriteDeps): Promise<boolean> {
  if (method !== 'PUT') return false;
  let parts: string[];
  try {
    parts = route.split('/').map(decodeURIComponent);
  } catch {
    return false;
  }
  const [empty, api, queues, queueName = '', second = '', third, ...rest] = parts;
  if (empty !== '' || api !== 'api' || queues !== 'queues' || rest.length > 0) return false;
  if (second === 'retry' && third === 'failed') return true;
  return third === 'retry' && (await deps.jobState(queueName, second)) === 'failed';
}
