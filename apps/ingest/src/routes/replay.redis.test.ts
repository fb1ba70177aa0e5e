import { EVENT_FIELDS, eventTag, workflowJobId } from '@oncehook/shared';
import { adminHeaders } from '@oncehook/testing';
import { UnrecoverableError, Worker } from 'bullmq';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createTestApp, readJson, type TestApp } from '../testing/app.ts';
import { failedAtCharge as failedIn } from '../testing/dead-letters.ts';

let t: TestApp;
beforeEach(async () => {
  t = await createTestApp();
});
afterEach(async () => {
  await t.close();
});

const admin = (path: string, method = 'POST') => t.app.request(path, { method, headers: adminHeaders() });
const payment = (id: string) => ({ event_id: id, type: 'payment.succeeded', amount: 100, currency: 'USD' });
const failedAtCharge = (ids: string[]) => failedIn(t, ids);

describe('POST /admin/replay/:source/:eventId', () => {
  it('puts a failed event back in the queue with fresh attempts, keeping its markers, and counts it', async () => {
    await failedAtCharge(['evt_r1']);
    const key = t.keys.event(eventTag('demo', 'evt_r1'));
    // A step done before the failure: its marker must survive the replay.
    await t.redis.hset(key, EVENT_FIELDS.marker('payment', 'validate'), '{"ok":true}');

    const res = await admin('/admin/replay/demo/evt_r1');
    expect(res.status).toBe(200);
    expect(await readJson(res)).toEqual({
      replayed: true,
      source: 'demo',
      eventId: 'evt_r1',
      replays: 1,
      workflows: [{ workflow: 'payment', kept: ['validate'], rerun: ['charge', 'ledger', 'record'] }],
    });
    const job = await t.jobOf('demo', 'evt_r1');
    expect(await job?.getState()).toBe('waiting');
    expect(job?.attemptsMade).toBe(0);
    expect(job?.data.replay).toBe(1);
    expect(await t.redis.hget(key, EVENT_FIELDS.marker('payment', 'validate'))).toBe('{"ok":true}');
    const status = await readJson(await t.get('/status/demo/evt_r1'));
    expect(status).toMatchObject({ state: 'queued', replays: 1, copies: 0 });
    expect(status.error).toBeUndefined();

    // Queued now, not failed: a second replay changes nothing.
    const again = await admin('/admin/replay/demo/evt_r1');
    expect(again.status).toBe(409);
    expect((await readJson(again)).error.code).toBe('not_failed');
    expect(await t.redis.hget(key, 'reruns')).toBe('1');
  });

  it('says a completed event needs nothing; an unknown one is 404 in the error shape', async () => {
    await t.post('/webhook', payment('evt_done'));
    await t.redis.hset(t.keys.event(eventTag('demo', 'evt_done')), {
      state: 'completed',
      workflows: 'payment',
      [EVENT_FIELDS.runState('payment')]: 'completed',
    });
    const done = await admin('/admin/replay/demo/evt_done');
    expect(done.status).toBe(200);
    expect(await readJson(done)).toMatchObject({ replayed: false, state: 'completed' });
    expect(await t.redis.hget(t.keys.event(eventTag('demo', 'evt_done')), 'reruns')).toBeNull();

    for (const path of ['/admin/replay/demo/evt_never', '/admin/replay/NotASource!/evt_1']) {
      const res = await admin(path);
      expect(res.status).toBe(404);
      expect((await readJson(res)).error).toMatchObject({ code: 'not_found', message: expect.any(String) });
    }
    await t.post('/webhook', payment('evt_waiting'));
    const waiting = await admin('/admin/replay/demo/evt_waiting');
    expect(waiting.status).toBe(409);
    expect((await readJson(waiting)).error.code).toBe('not_failed');
  });

  it('runs an event once when two operators replay it at the same moment', async () => {
    await failedAtCharge(['evt_race']);
    const answers = await Promise.all(Array.from({ length: 4 }, () => admin('/admin/replay/demo/evt_race')));
    const bodies = await Promise.all(answers.map(readJson));
    expect(bodies.filter((b) => b.replayed === true)).toHaveLength(1);
    for (const [i, res] of answers.entries()) {
      if (bodies[i].replayed) continue;
      expect(res.status).toBe(409);
      expect(['replay_raced', 'not_failed']).toContain(bodies[i].error.code);
    }
    expect(await t.redis.hget(t.keys.event(eventTag('demo', 'evt_race')), 'reruns')).toBe('1');
    expect(await t.queue.getWaitingCount()).toBe(1);
  });

  it('refuses an event whose record expired (its markers went with it) and one whose job is gone', async () => {
    await failedAtCharge(['evt_expired', 'evt_nojob']);
    await t.redis.del(t.keys.event(eventTag('demo', 'evt_expired')));
    expect((await admin('/admin/replay/demo/evt_expired')).status).toBe(404);
    expect(await t.queue.getFailedCount()).toBe(2);

    await (await t.jobOf('demo', 'evt_nojob'))?.remove();
    const gone = await admin('/admin/replay/demo/evt_nojob');
    expect(gone.status).toBe(409);
    expect((await readJson(gone)).error.code).toBe('job_gone');
    expect(await t.redis.hget(t.keys.event(eventTag('demo', 'evt_nojob')), 'reruns')).toBeNull();
  });
});

describe('what a replay says it will do', () => {
  it('lists as kept only the steps with a marker: a pure step before them runs again', async () => {
    await failedAtCharge(['evt_pure']);
    // validate is pure (no marker), charge committed, ledger failed.
    await t.redis.hset(t.keys.event(eventTag('demo', 'evt_pure')), {
      [EVENT_FIELDS.marker('payment', 'charge')]: '{"paymentId":"pi_1"}',
    });
    expect(await readJson(await admin('/admin/replay/demo/evt_pure'))).toMatchObject({
      workflows: [{ workflow: 'payment', kept: ['charge'], rerun: ['validate', 'ledger', 'record'] }],
    });
  });

  it('lists a run failed on a permanent error as not replayable, skips it in bulk, replays it by its id', async () => {
    await t.post('/webhook', payment('evt_bad'));
    await t.redis.hset(t.keys.event(eventTag('demo', 'evt_bad')), {
      state: 'failed',
      workflows: 'payment',
      [EVENT_FIELDS.runSteps('payment')]: 'validate,charge,ledger,record',
      [EVENT_FIELDS.runState('payment')]: 'failed',
      [EVENT_FIELDS.runError('payment')]: 'payment: amount must be a positive integer',
    });
    const failing = new Worker(
      t.queue.name,
      async () => {
        throw new UnrecoverableError('payment: amount must be a positive integer');
      },
      { connection: t.redis, prefix: t.queue.opts.prefix },
    );
    for (let i = 0; i < 500 && (await t.queue.getFailedCount()) < 1; i++)
      await new Promise((r) => setTimeout(r, 20));
    await failing.close();
    await failedAtCharge(['evt_down']);

    const listed = await readJson(await admin('/admin/events?state=failed', 'GET'));
    const byId = Object.fromEntries(listed.events.map((e: { eventId: string }) => [e.eventId, e]));
    expect(byId.evt_bad).toMatchObject({ replayable: false, reason: 'permanent_error', attempts: 1 });
    expect(byId.evt_down).toMatchObject({ replayable: true });
    expect(byId.evt_down.reason).toBeUndefined();

    const bulk = await readJson(await admin('/admin/replay?state=failed'));
    expect(bulk.replayed.map((r: { eventId: string }) => r.eventId)).toEqual(['evt_down']);
    expect(bulk.skipped).toEqual([{ source: 'demo', eventId: 'evt_bad', reason: 'permanent_error' }]);
    expect(await readJson(await admin('/admin/replay/demo/evt_bad'))).toMatchObject({ replayed: true });
  });
});

describe('replaying an event with several workflows', () => {
  /** An event fanned out to `ship` (completed) and `bill` (its `workflows` job failed for good). */
  async function billFailed(id: string) {
    await t.post('/webhook', payment(id));
    const tag = eventTag('demo', id);
    const gen = Number(await t.redis.hget(t.keys.event(tag), 'receivedAt'));
    await t.redis.hset(t.keys.event(tag), {
      state: 'failed',
      workflows: 'ship,bill',
      [EVENT_FIELDS.runState('ship')]: 'completed',
      [EVENT_FIELDS.runSteps('bill')]: 'invoice,mail',
      [EVENT_FIELDS.marker('bill', 'invoice')]: '{"invoice":"in_1"}',
      [EVENT_FIELDS.runState('bill')]: 'failed',
      [EVENT_FIELDS.runError('bill')]: 'mail API down',
    });
    const { workflows } = t.queues.current()[0]!;
    const event = (await t.jobOf('demo', id))?.data;
    await workflows.add(
      'workflow',
      { ...event, workflow: 'bill' },
      { jobId: workflowJobId(tag, gen, 'bill') },
    );
    const failing = new Worker(
      workflows.name,
      async () => {
        throw new UnrecoverableError('mail API down');
      },
      { connection: t.redis, prefix: workflows.opts.prefix },
    );
    for (let i = 0; i < 500 && (await workflows.getFailedCount()) < 1; i++)
      await new Promise((r) => setTimeout(r, 20));
    await failing.close();
    return { tag, gen, workflows };
  }

  it('re-runs only the failed workflow, in its own job, the completed one left as it is', async () => {
    const { tag, gen, workflows } = await billFailed('evt_fan');
    const res = await admin('/admin/replay/demo/evt_fan');
    expect(await readJson(res)).toMatchObject({
      replayed: true,
      workflows: [{ workflow: 'bill', kept: ['invoice'], rerun: ['mail'] }],
    });
    const job = await workflows.getJob(workflowJobId(tag, gen, 'bill'));
    expect(await job?.getState()).toBe('waiting');
    const record = await t.redis.hgetall(t.keys.event(tag));
    expect(record).toMatchObject({ state: 'processing', 's:ship': 'completed', 's:bill': 'queued' });
    expect(record['m:bill:invoice']).toBe('{"invoice":"in_1"}');
  });

  it('adds the job again, under its own id, when the dead letter went away but the body is kept', async () => {
    const { tag, gen, workflows } = await billFailed('evt_fan_gone');
    await (await workflows.getJob(workflowJobId(tag, gen, 'bill')))?.remove();
    expect((await admin('/admin/replay/demo/evt_fan_gone')).status).toBe(200);
    const job = await workflows.getJob(workflowJobId(tag, gen, 'bill'));
    expect(await job?.getState()).toBe('waiting');
    expect(job?.data).toMatchObject({ eventId: 'evt_fan_gone', workflow: 'bill', replay: 1 });
    expect(job?.opts.attempts).toBe(t.config.MAX_ATTEMPTS);
  });
});

describe('GET /admin/events (dead letters)', () => {
  it('pages through the failed events with their error, attempts and failed step', async () => {
    const ids = ['evt_d1', 'evt_d2', 'evt_d3', 'evt_d4', 'evt_d5'];
    await failedAtCharge(ids);
    const seen: string[] = [];
    let cursor: string | null = '0';
    let pages = 0;
    while (cursor !== null) {
      const res = await admin(`/admin/events?state=failed&limit=2&cursor=${cursor}`, 'GET');
      expect(res.status).toBe(200);
      const page = await readJson(res);
      expect(page.events.length).toBeLessThanOrEqual(2);
      for (const dead of page.events) {
        expect(dead).toMatchObject({
          source: 'demo',
          workflow: 'payment',
          failedStep: 'charge',
          error: 'payments API answered 503',
          attempts: t.config.MAX_ATTEMPTS,
          replayable: true,
          queue: 'events',
        });
        seen.push(dead.eventId);
      }
      cursor = page.nextCursor;
      pages++;
    }
    expect(pages).toBe(3);
    expect(seen.sort()).toEqual(ids);
    const other = await readJson(await admin('/admin/events?source=stripe', 'GET'));
    expect(other).toEqual({ events: [], nextCursor: null });
    const recent = await readJson(await admin('/admin/events?since=1h', 'GET'));
    expect(recent.events).toHaveLength(5);
  });

  it('refuses a state other than failed and a limit out of bounds', async () => {
    for (const query of [
      'state=completed',
      'limit=0',
      'limit=501',
      'limit=x',
      'since=yesterday',
      'cursor=-1',
    ]) {
      const res = await admin(`/admin/events?${query}`, 'GET');
      expect(res.status, query).toBe(400);
      expect((await readJson(res)).error.code).toBe('invalid_query');
    }
  });
});

describe('POST /admin/replay (bulk)', () => {
  it('replays at most `limit` failed events and says whether more are left', async () => {
    await failedAtCharge(['evt_b1', 'evt_b2', 'evt_b3', 'evt_b4', 'evt_b5']);
    await t.redis.del(t.keys.event(eventTag('demo', 'evt_b5')));
    // `limit` bounds the events taken on (replayed or skipped), newest first.
    const first = await readJson(await admin('/admin/replay?state=failed&source=demo&since=24h&limit=3'));
    expect(first.replayed.length + first.skipped.length).toBe(3);
    expect(first.more).toBe(true);
    // An expired one stays a dead letter, skipped each time.
    const second = await readJson(await admin('/admin/replay?state=failed&limit=10'));
    expect(second.more).toBe(false);
    expect(second.skipped).toEqual([{ source: 'demo', eventId: 'evt_b5', reason: 'record_expired' }]);
    expect([...first.replayed, ...second.replayed].map((r) => r.eventId).sort()).toEqual([
      'evt_b1',
      'evt_b2',
      'evt_b3',
      'evt_b4',
    ]);
    expect(await t.queue.getWaitingCount()).toBe(4);
    const none = await readJson(await admin('/admin/replay?state=failed&source=stripe'));
    expect(none).toEqual({ replayed: [], skipped: [], more: false });
  });

  it('is bounded: a limit over 1000 is refused', async () => {
    for (const query of ['limit=1001', 'state=retrying', 'since=soon']) {
      const res = await admin(`/admin/replay?${query}`);
      expect(res.status, query).toBe(400);
    }
  });
});

describe('admin API access', () => {
  it('answers 401 with WWW-Authenticate without the token', async () => {
    await failedAtCharge(['evt_auth']);
    for (const [method, path] of [
      ['POST', '/admin/replay/demo/evt_auth'],
      ['POST', '/admin/replay?state=failed'],
      ['GET', '/admin/events?state=failed'],
    ] as const) {
      for (const headers of [{}, { authorization: 'Bearer not-the-token' }] as Record<string, string>[]) {
        const res = await t.app.request(path, { method, headers });
        expect(res.status).toBe(401);
        expect(res.headers.get('www-authenticate')).toContain('Basic');
      }
    }
    expect(await t.queue.getFailedCount()).toBe(1);
  });
});
