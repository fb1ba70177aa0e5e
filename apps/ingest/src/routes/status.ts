import {
  eventTag,
  type JobStateLookup,
  type Keys,
  QUEUES,
  type RedisClient,
  readEventStatus,
  SOURCE_NAME,
} from '@oncehook/shared';
import type { Queue } from 'bullmq';
import { Hono } from 'hono';
import { ApiError, unavailable } from '../errors.ts';

/**
 * GET /status/:source/:eventId, and GET /status/:eventId for the demo source.
 * GET /status?source=&eventId= addresses any id, even those no URL path can carry ('.', '..').
 */
export function statusRoutes({ redis, keys, queues }: { redis: RedisClient; keys: Keys; queues: Queue[] }) {
  const app = new Hono();
  // Where the record and a job disagree (a worker died before recording `retrying`), the job wins.
  const jobState: JobStateLookup = async (jobId, name) => {
    const queue = queues.find((q) => q.name === QUEUES[name]);
    const state = queue ? await queue.getJobState(jobId) : 'unknown';
    return state === 'unknown' ? null : state;
  };

  const show = async (source: string, eventId: string) => {
    if (!SOURCE_NAME.test(source)) throw notFound(source, eventId);
    const status = await readEventStatus(redis, keys, eventTag(source, eventId), jobState).catch((err) => {
      throw unavailable(err);
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
