import type { Logger } from '@oncehook/shared';
import { Hono } from 'hono';
import type { AdminCredentials } from './admin-auth.ts';
import { errorBody, toErrorResponse } from './errors.ts';
import { adminRoutes } from './routes/admin.ts';
import { demoLedgerRoutes } from './routes/demo-ledger.ts';
import { demoSubscriptionRoutes } from './routes/demo-subscriptions.ts';
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
  /** HTTP_LINGER_MS: how long a connection closed under a client still sending reads on. */
  lingerMs: number;
}

/** The ingest's HTTP surface, built from its dependencies: no port, no process. */
export function createApp(deps: AppDeps) {
  const app = new Hono();
  app.use(closeUnreadRequests(deps.lingerMs));
  app.route('/', webhookRoutes(deps));
  app.route('/', statusRoutes(deps));
  app.route('/', healthRoutes(deps));
  app.route('/', demoLedgerRoutes(deps));
  app.route('/', demoSubscriptionRoutes(deps));
  app.route('/', adminRoutes(deps));
  app.notFound((c) => c.json(errorBody(c, 'not_found', 'No such route.'), 404));
  app.onError((err, c) => toErrorResponse(err, c, deps.log));
  return app;
}
