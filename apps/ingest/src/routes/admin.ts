import { createBullBoard } from '@bull-board/api';
import { BullMQAdapter } from '@bull-board/api/bullMQAdapter';
import { HonoAdapter } from '@bull-board/hono';
import { serveStatic } from '@hono/node-server/serve-static';
import type { PartitionedQueues } from '@oncehook/shared';
import type { Queue } from 'bullmq';
import { Hono, type MiddlewareHandler } from 'hono';
import type { AdminEnv } from '../admin-auth.ts';
import { ApiError } from '../errors.ts';
import type { ReplayDeps } from '../replay/replay-event.ts';
import { sameOriginWrites } from '../same-origin.ts';
import { dashboardWrites } from './dashboard-writes.ts';
import { replayRoutes } from './replay.ts';

const BOARD_PATH = '/admin/queues';

export interface AdminDeps extends ReplayDeps {
  /** The admin auth (admin-auth.ts), shared with the other guarded routes; none: no admin surface. */
  admin?: MiddlewareHandler<AdminEnv> | undefined;
  queues: PartitionedQueues;
  /** PUBLIC_URL: an origin the dashboard may be reached at, besides the request's own. */
  publicUrl?: string | undefined;
  /** ADMIN_DASHBOARD_WRITE. */
  dashboardWrite?: boolean | undefined;
}

/**
 * /admin: the Bull Board dashboard (every queue of every partition: waiting, active, failed jobs;
 * retry from the UI) and the replay API (replay.ts). Without ADMIN_TOKEN there is no admin surface
 * at all, rather than an open one. Never framed (clickjacking); changes only from its own origin.
 */
export function adminRoutes(deps: AdminDeps) {
  const { admin, queues } = deps;
  const app = new Hono<AdminEnv>();
  app.use('/admin', noFraming).use('/admin/*', noFraming);
  if (!admin) {
    app.all('/admin/*', () => {
      throw new ApiError('admin_disabled', 'The admin surface is off: set ADMIN_TOKEN to enable it.');
    });
    return app;
  }
  app.use('/admin/*', admin).use('/admin', admin);
  app.use('/admin/*', sameOriginWrites(deps.publicUrl, deps.log));
  app.route('/', replayRoutes(deps));

  const board = new HonoAdapter(serveStatic);
  board.setBasePath(BOARD_PATH);
  // With partitions the queues are named by partition ("p1of3-events"); one partition: "events".
  const byName = new Map<string, Queue>();
  const adapters = () =>
    queues.pairs().flatMap(({ partition, events, workflows }) => {
      const prefix = partition.count === 1 ? '' : `${partition.label}-`;
      return [events, workflows].map((queue) => {
        byName.set(`${prefix}${queue.name}`, queue);
        // The UI offers a completed job's retry only where the server would take it (an option
        // Bull Board's base adapter reads, missing from BullMQAdapter's type).
        const options = { prefix, allowCompletedRetries: deps.dashboardWrite === true };
        return new BullMQAdapter(queue, options);
      });
    });
  const boardQueues = createBullBoard({
    queues: adapters(),
    serverAdapter: board,
    options: { uiConfig: { boardTitle: 'oncehook' } },
  });
  // An older layout's partitions are opened when found holding jobs: show them from then on.
  let shown = queues.pairs().length;
  app.use(`${BOARD_PATH}/*`, async (_c, next) => {
    if (queues.pairs().length !== shown) {
      shown = queues.pairs().length;
      boardQueues.replaceQueues(adapters());
    }
    await next();
  });
  app.use(
    `${BOARD_PATH}/*`,
    dashboardWrites(BOARD_PATH, {
      log: deps.log,
      writable: deps.dashboardWrite === true,
      jobState: async (queueName, jobId) => {
        const queue = byName.get(queueName);
        return queue ? String(await queue.getJobState(jobId)) : undefined;
      },
    }),
  );
  app.route(BOARD_PATH, board.registerPlugin());
  app.get('/admin', (c) => c.redirect(BOARD_PATH));
  return app;
}

/** The admin pages are never shown inside another site's frame (clickjacking). */
const noFraming: MiddlewareHandler = async function noFraming(c, next) {
  await next();
  c.res.headers.set('X-Frame-Options', 'DENY');
  c.res.headers.set('Content-Security-Policy', "frame-ancestors 'none'");
};
