import {
  eventTag,
  type Keys,
  type PartitionedQueues,
  type RedisClient,
  readEventStatus,
  SOURCE_NAME,
} from '@oncehook/shared';
import { Hono, type MiddlewareHandler } from 'hono';
import type { AdminEnv } from '../admin-auth.ts';
import { ApiError, unavailable } from '../errors.ts';
import { jobStateLookup } from '../replay/event-jobs.ts';

/**
 * GET /status/:source/:eventId, and GET /status/:eventId for the demo source.
 * GET /status?source=&eventId= addresses any id, even those no URL path can carry ('.', '..').
 *
 * An operator's view: step results hold payment ids, amounts, e-mail addresses. It takes the admin
 * credentials, and is off without ADMIN_TOKEN, unless STATUS_PUBLIC opens it (`npm start` does,
 * for the quickstart's curl).
 */
export function statusRoutes({
  redis,
  keys,
  queues,
  admin,
  statusPublic = false,
}: {
  redis: RedisClient;
  keys: Keys;
  queues: PartitionedQueues;
  /** The admin auth (admin-auth.ts); none: /status is off unless public. */
  admin?: MiddlewareHandler<AdminEnv> | undefined;
  statusPublic?: boolean | undefined;
}) {
  const app = new Hono<AdminEnv>();
  if (!statusPublic) {
    if (admin) app.use('/status', admin).use('/status/*', admin);
    else
      app.all('/status*', () => {
        throw new ApiError(
          'admin_disabled',
          'GET /status is off: set ADMIN_TOKEN to enable it (it takes the admin credentials), or STATUS_PUBLIC=true to open it to anyone.',
        );
      });
  }
  // Where the record and a job disagree (a worker died before recording `retrying`), the job wins.
  const show = async (source: string, eventId: string) => {
    if (!SOURCE_NAME.test(source)) throw notFound(source, eventId);
    const tag = eventTag(source, eventId);
    const status = await readEventStatus(redis, keys, tag, jobStateLookup(queues, tag)).catch((err) => {
      throw unavailable(err, "the event's state could not be read");
    });
    if (!status) throw notFound(source, eventId);
    return status;
  };

  app.get('/status/:source/:eventId{.+}', async (c) =>
    c.json(await show(c.req.param('source'), c.req.param('eventId'))),
  );
  app.get('/status', async (c) => {
    const eventId = c.req.query('eventId');
    if (!eventId) throw new ApiError('missing_event_id', 'Give the event id as ?eventId= (and ?source=).');
    return c.json(await show(c.req.query('source') ?? 'demo', eventId));
  });
  app.get('/status/:eventId', async (c) => c.json(await show('demo', c.req.param('eventId'))));
  return app;
}

const notFound = (source: string, eventId: string) =>
  new ApiError('not_found', `No accepted event "${eventId}" from source "${source}".`);
