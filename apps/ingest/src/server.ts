import { serve } from '@hono/node-server';
import {
  createKeys,
  createRedis,
  knownLayouts,
  type Logger,
  openQueues,
  partitionsHoldingJobs,
  superviseRedis,
} from '@oncehook/shared';
import { adminCredentials } from './admin-auth.ts';
import { createApp, type ExtraRoutes } from './app.ts';
import { type IngestEnv, orExit } from './env.ts';
import { createMetrics } from './metrics.ts';
import { createProviders, isProviderName } from './providers/registry.ts';

/** One ingest process: connects, serves HTTP on PORT, and shuts down on SIGTERM/SIGINT. */
export function runIngestServer(config: IngestEnv, log: Logger, routes?: ExtraRoutes) {
  // Before connecting: a bad SOURCES_FILE or key stops the process here, with a message naming it.
  const providers = orExit(() => createProviders(config));

  const admins = adminCredentials(config);
  const redis = createRedis(config, 'fail-fast', 'oncehook-ingest');
  let redisChecked = false;
  const keys = createKeys(config.QUEUE_PREFIX);
  const queues = openQueues(config, redis, (err) => log.warn({ err: err.message }, 'queue error'));
  const metrics = createMetrics(queues);
  const stop = (message: string): never => {
    log.fatal(message);
    process.exit(78);
  };
  const checked = superviseRedis(redis, log, config, stop, metrics.redisChecked).then(() => {
    redisChecked = true;
  });
  // Partitions of an earlier QUEUE_PARTITIONS that still hold jobs: on the dashboard and /metrics.
  // Once Redis answered (the checks passed): this connection queues nothing while it connects.
  void checked
    .then(async () => {
      for (const count of await knownLayouts(redis, keys, config.QUEUE_PARTITIONS)) {
        if (count !== config.QUEUE_PARTITIONS)
          await partitionsHoldingJobs(queues, redis, config.QUEUE_PREFIX, count);
      }
    })
    .catch((err) => log.warn({ err: err.message }, 'could not look for older queue partitions'));

  const app = createApp({
    redis,
    keys,
    queues,
    retry: config,
    log,
    providers,
    publicUrl: config.PUBLIC_URL,
    maxBodyBytes: config.MAX_BODY_BYTES,
    lingerMs: config.HTTP_LINGER_MS,
    metrics,
    adminToken: admins,
    statusPublic: config.STATUS_PUBLIC,
    dashboardWrite: config.ADMIN_DASHBOARD_WRITE,
    production: config.NODE_ENV === 'production',
    redisChecked: () => redisChecked,
    ack: { replicas: config.ACK_REPLICAS, timeoutMs: config.ACK_REPLICA_TIMEOUT_MS },
    routes,
  });

  // What one client may hold: the headers within ~10 s, the whole request within ~30 s (a trickling
  // body is cut off), an idle keep-alive connection 5 s, and at most HTTP_MAX_CONNECTIONS at once.
  // Node checks the first two every `connectionsCheckingInterval` (30 s by default): once a second.
  const serverOptions = {
    headersTimeout: config.HTTP_HEADERS_TIMEOUT_MS,
    requestTimeout: config.HTTP_REQUEST_TIMEOUT_MS,
    keepAliveTimeout: config.HTTP_KEEP_ALIVE_TIMEOUT_MS,
    connectionsCheckingInterval: 1000,
  };
  const server = serve({ fetch: app.fetch, port: config.PORT, serverOptions }, (info) => {
    log.info({ port: info.port, sources: [...providers.keys()] }, `ingest listening on :${info.port}`);
    if (providers.has('demo') && !config.secrets.has('DEMO_WEBHOOK_SECRET')) {
      log.warn(
        'POST /webhook (the demo source) accepts UNSIGNED deliveries: anyone who can reach it can cause a charge and a receipt. Fine for a first try; in production set NODE_ENV=production (it is then off) or DEMO_WEBHOOK_SECRET (it then requires a signature).',
      );
    }
    for (const [name, secret] of providers.unserved)
      if (!isProviderName(name))
        log.warn(`SOURCES_FILE declares "${name}" but ${secret} is not set: it answers 404 until it is`);
    if (admins) log.info(`dashboard: http://localhost:${info.port}/admin/queues (password: an admin token)`);
    else log.info('admin dashboard off: set ADMIN_TOKEN (or ADMIN_TOKENS) to enable /admin/queues');
    if (admins && config.ADMIN_DASHBOARD_WRITE)
      log.warn(
        'ADMIN_DASHBOARD_WRITE=true: the dashboard can add jobs (no signature covers them), edit their data, clean and obliterate queues. Unset it unless an operator needs that now.',
      );
    if (providers.has('twilio') && !config.PUBLIC_URL)
      log.warn(
        'Twilio without PUBLIC_URL: the URL it signed is rebuilt from each request’s Host header. Set PUBLIC_URL to the address Twilio is configured with.',
      );
    if (config.ALLOW_SHORT_SECRETS && config.NODE_ENV === 'production')
      log.warn('ALLOW_SHORT_SECRETS in production: a short webhook secret can be guessed from one delivery.');
    if (config.STATUS_PUBLIC)
      log.warn(
        'GET /status is open to anyone (STATUS_PUBLIC=true): its step results hold payment ids, amounts and e-mail addresses. Unset it in production: /status then takes the admin credentials.',
      );
  });

  (server as import('node:http').Server).maxConnections = config.HTTP_MAX_CONNECTIONS;
  server.on('error', (err: NodeJS.ErrnoException) => {
    const why = err.code === 'EADDRINUSE' ? 'another process listens on it' : err.message;
    stop(`PORT: cannot listen on ${config.PORT} (${why}): stop that process, or set PORT to a free port`);
  });

  let stopping = false;
  async function shutdown(signal: string) {
    if (stopping) return;
    stopping = true;
    log.info({ signal }, 'shutting down: no new requests, finishing the ones in flight');
    server.close();
    await queues.close();
    redis.disconnect();
    process.exit(0);
  }
  process.on('SIGTERM', () => void shutdown('SIGTERM'));
  process.on('SIGINT', () => void shutdown('SIGINT'));
}
