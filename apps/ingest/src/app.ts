import type { Logger, RedisClient } from '@oncehook/shared';
import { Hono, type MiddlewareHandler } from 'hono';
import { type AdminCredentials, adminAuth } from './admin-auth.ts';
import { ApiError, errorBody, toErrorResponse } from './errors.ts';
import { adminRoutes } from './routes/admin.ts';
import { healthRoutes } from './routes/health.ts';
import { statusRoutes } from './routes/status.ts';
import { type WebhookDeps, webhookRoutes } from './routes/webhooks.ts';
import { closeUnreadRequests } from './unread-request.ts';

export interface AppDeps extends WebhookDeps {
  log: Logger;
  /** ADMIN_TOKEN, and the named ADMIN_TOKENS: no admin surface without any. */
  adminToken?: AdminCredentials | undefined;
  /** STATUS_PUBLIC: GET /status without credentials. */
  statusPublic?: boolean | undefined;
  /** ADMIN_DASHBOARD_WRITE: the dashboard's writes beyond retrying failed jobs. */
  dashboardWrite?: boolean | undefined;
  /** NODE_ENV=production: routes added with `routes` take the admin credentials. */
  production?: boolean | undefined;
  /** Routes of the embedding application (runIngest's `routes`). */
  routes?: ExtraRoutes | undefined;
  /** HTTP_LINGER_MS: how long a connection closed under a client still sending reads on. */
  lingerMs: number;
}

/** The ingest's HTTP surface, built from its dependencies: no port, no process. */
export function createApp(deps: AppDeps) {
  // One auth for every guarded route: wrong tokens are counted per client across all of them.
  const admin = deps.adminToken ? adminAuth(deps.adminToken, { log: deps.log }) : undefined;
  // What an embedding application shows (the example's ledger: revenue, customers'
  // subscriptions): open for a first try, an operator's view in production.
  const operatorsInProduction = deps.production ? (admin ?? adminDisabled) : undefined;
  const app = new Hono();
  app.use(closeUnreadRequests(deps.lingerMs));
  app.route('/', webhookRoutes(deps));
  app.route('/', statusRoutes({ ...deps, admin }));
  app.route('/', healthRoutes({ ...deps, admin }));
  deps.routes?.(app, { redis: deps.redis, prefix: deps.keys.prefix, guard: operatorsInProduction });
  app.route('/', adminRoutes({ ...deps, admin }));
  app.notFound((c) => c.json(errorBody(c, 'not_found', 'No such route.'), 404));
  app.onError((err, c) => toErrorResponse(err, c, deps.log));
  return app;
}

/**
 * Routes an application adds to the ingest's HTTP surface (`runIngest({ routes })`). `guard`, set
 * in production, asks for the admin credentials: put it before routes that show business data.
 */
export type ExtraRoutes = (
  app: Hono,
  ctx: { redis: RedisClient; prefix: string; guard?: MiddlewareHandler | undefined },
) => void;

const adminDisabled: MiddlewareHandler = () => {
  throw new ApiError(
    'admin_disabled',
    'This route takes the admin credentials: set ADMIN_TOKEN to enable it.',
  );
};
