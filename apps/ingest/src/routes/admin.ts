import { createBullBoard } from '@bull-board/api';
import { BullMQAdapter } from '@bull-board/api/bullMQAdapter';
import { HonoAdapter } from '@bull-board/hono';
import { serveStatic } from '@hono/node-server/serve-static';
import type { PartitionedQueues } from '@oncehook/shared';
import { Hono } from 'hono';
import { type AdminCredentials, adminAuth } from '../admin-auth.ts';
import { ApiError } from '../errors.ts';
import type { ReplayDeps } from '../replay/replay-event.ts';
import { replayRoutes } from './replay.ts';

const BOARD_PATH = '/admin/queues';

/**
 * /admin: the Bull Board dashboard (every queue of every partition: waiting, active, failed jobs;
 * retry from the UI) and the replay API (replay.ts). Without ADMIN_TOKEN there is no admin surface
 * at all, rather than an open one.
 */
export function adminRoutes(
  deps: ReplayDeps & { adminToken?: AdminCredentials | undefined; queues: PartitionedQueues },
) {
  const { adminToken, queues } = deps;
  const app = new Hono();
  if (!adminToken) {
    app.all('/admin/*', () => {
      throw new ApiError('admin_disabled', 'The admin surface is off: set ADMIN_TOKEN to enable it.');
    });
    return app;
  }
  app.use('/admin/*', adminAuth(adminToken));
  app.use('/admin', adminAuth(adminToken));
  app.route('/', replayRoutes(deps));

  const board = new HonoAdapter(serveStatic);
  board.setBasePath(BOARD_PATH);
  // With partitions the queues are named by partition ("p1of3-events"); one partition: "events".
  const adapters = () =>
    queues.pairs().flatMap(({ partition, events, workflows }) => {
      const prefix = partition.count === 1 ? '' : `${partition.label}-`;
      return [new BullMQAdapter(events, { prefix }), new BullMQAdapter(workflows, { prefix })];
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
  app.route(BOARD_PATH, board.registerPlugin());
  app.get('/admin', (c) => c.redirect(BOARD_PATH));
  return app;
}
