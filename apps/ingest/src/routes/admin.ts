import { createBullBoard } from '@bull-board/api';
import { BullMQAdapter } from '@bull-board/api/bullMQAdapter';
import { HonoAdapter } from '@bull-board/hono';
import { serveStatic } from '@hono/node-server/serve-static';
import type { Queue } from 'bullmq';
import { Hono } from 'hono';
import { adminAuth } from '../admin-auth.ts';
import { ApiError } from '../errors.ts';

const BOARD_PATH = '/admin/queues';

/**
 * /admin: the Bull Board dashboard (every queue: waiting, active, failed jobs; retry from the UI).
 * Without ADMIN_TOKEN there is no admin surface at all, rather than an open one.
 */
export function adminRoutes({ adminToken, queues }: { adminToken?: string; queues: Queue[] }) {
  const app = new Hono();
  if (!adminToken) {
    app.all('/admin/*', () => {
      throw new ApiError('admin_disabled', 'The admin surface is off: set ADMIN_TOKEN to enable it.');
    });
    return app;
  }
  app.use('/admin/*', adminAuth(adminToken));
  app.use('/admin', adminAuth(adminToken));

  const board = new HonoAdapter(serveStatic);
  board.setBasePath(BOARD_PATH);
  createBullBoard({
    queues: queues.map((q) => new BullMQAdapter(q)),
    serverAdapter: board,
    options: { uiConfig: { boardTitle: 'oncehook' } },
  });
  app.route(BOARD_PATH, board.registerPlugin());
  app.get('/admin', (c) => c.redirect(BOARD_PATH));
  return app;
}
