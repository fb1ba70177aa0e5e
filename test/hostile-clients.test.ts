import http from 'node:http';
import net from 'node:net';
import { eventTag, QUEUES, workflowJobId } from '@oncehook/shared';
import { type Inspector, inspect, type System, sleep, startSystem, waitFor } from '@oncehook/testing';
import { Queue } from 'bullmq';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

/**
 * The endpoint is public: anyone can send it anything. Each probe here is followed by a valid
 * delivery on a new connection and on the same keep-alive connection, which must be answered 200.
 * Assertions are on counts, states and bytes, never on time.
 */
const SECRETS = {
  STRIPE_WEBHOOK_SECRET: 'whsec_hostile',
  STANDARD_WEBHOOK_SECRET: `whsec_${Buffer.from('h'.repeat(32)).toString('base64')}`,
  GITHUB_WEBHOOK_SECRET: 'gh-hostile',
  SHOPIFY_WEBHOOK_SECRET: 'shop-hostile',
  SLACK_SIGNING_SECRET: 'slack-hostile',
};

let s: System;
let view: Inspector;
const port = () => Number(new URL(s.base).port);
const keepAlive = new http.Agent({ keepAlive: true, maxSockets: 1 });

interface Answer {
  status: number;
  text: string;
  headers: http.IncomingHttpHeaders;
}

function request(
  path: string,
  body: string | Buffer,
  headers: Record<string, string>,
  agent: http.Agent | false,
) {
  return new Promise<Answer>((resolve, reject) => {
    const req = http.request(
      {
        host: '127.0.0.1',
        port: port(),
        path,
        method: 'POST',
        agent,
        headers: { 'content-type': 'application/json', ...headers },
      },
      (res) => {
        let text = '';
        res.on('data', (d) => {
          text += d;
        });
        res.on('end', () => resolve({ status: res.statusCode ?? 0, text, headers: res.headers }));
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

let seq = 0;
/** A valid delivery on a new connection and on the keep-alive one: both must be 200 and new. */
async function stillServes() {
  for (const agent of [false, keepAlive] as const) {
    const id = `evt_ok_${++seq}`;
    const body = JSON.stringify({ event_id: id, type: 'payment.succeeded', amount: 100, currency: 'USD' });
    const answer = await request('/webhook', body, {}, agent);
    expect([answer.status, answer.text]).toEqual([200, '{"received":true,"duplicate":false}']);
  }
}

async function metric(name: string, labels = ''): Promise<number> {
  const text = await (await fetch(`${s.base}/metrics`)).text();
  const line = text.split('\n').find((l) => l.startsWith(`${name}${labels}`));
  return Number(line?.split(' ').at(-1) ?? 0);
}

beforeAll(async () => {
  s = await startSystem({
    workers: 1,
    env: { ...SECRETS, HTTP_HEADERS_TIMEOUT_MS: '1500', HTTP_REQUEST_TIMEOUT_MS: '3000' },
  });
  view = inspect(s.redis.url, s.prefix);
  await stillServes();
});

afterAll(async () => {
  keepAlive.destroy();
  await view?.close();
  await s?.stop();
});

const body1MiB = JSON.stringify({ id: 'evt_forged', type: 'x', pad: 'p'.repeat(1024 * 1024 - 200) });

describe('forged signatures with thousands of entries', () => {
  it.each([
    ['stripe', { 'stripe-signature': `t=${Math.floor(Date.now() / 1000)},${'v1=ab,'.repeat(2300)}v1=ab` }, 1],
    [
      'standard',
      {
        'webhook-id': 'msg_forged',
        'webhook-timestamp': String(Math.floor(Date.now() / 1000)),
        'webhook-signature': Array(1800).fill('v1,AA==').join(' '),
      },
      1,
    ],
    [
      'github',
      { 'x-hub-signature-256': `sha256=${'0'.repeat(64)},`.repeat(150), 'x-github-delivery': 'd' },
      0,
    ],
    ['shopify', { 'x-shopify-hmac-sha256': 'AAAA,'.repeat(2500), 'x-shopify-webhook-id': 'w' }, 0],
    ['slack', { 'x-slack-signature': 'v0=00,'.repeat(2000), 'x-slack-request-timestamp': '1' }, 0],
  ] as const)(
    '%s: 401 after at most one MAC per secret, and the ingest keeps serving',
    async (source, headers, macs) => {
      const before = await metric('oncehook_signature_macs_total');
      const answer = await request(`/webhooks/${source}`, body1MiB, headers, keepAlive);
      expect(answer.status).toBe(401);
      expect(JSON.parse(answer.text).error.code).toBe('invalid_signature');
      expect((await metric('oncehook_signature_macs_total')) - before).toBe(macs);
      await stillServes();
    },
  );
});

describe('slow and broken clients', () => {
  it('headers that never finish: the connection is closed, the service goes on', async () => {
    const socket = net.connect(port(), '127.0.0.1');
    const closed = new Promise<string>((resolve) => {
      let got = '';
      socket.on('data', (d) => {
        got += d;
      });
      socket.on('close', () => resolve(got));
    });
    socket.write('POST /webhook HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n');
    await stillServes();
    expect(await closed).toMatch(/^$|^HTTP\/1\.1 408/);
  });

  it('a body that trickles: cut off at the request timeout, nothing stored', async () => {
    const jobsBefore = await view.jobCount();
    const socket = net.connect(port(), '127.0.0.1');
    let open = true;
    socket.on('close', () => {
      open = false;
    });
    socket.on('error', () => {});
    socket.write(
      'POST /webhook HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100000\r\n\r\n{',
    );
    const trickle = setInterval(() => open && socket.write(' '), 200);
    try {
      await waitFor(() => !open, 30_000, 'the server to close the trickling connection');
    } finally {
      clearInterval(trickle);
    }
    expect(await view.jobCount()).toBe(jobsBefore);
    await stillServes();
  });

  it('clients that abort mid-body: counted, not logged as errors, nothing stored', async () => {
    const abortedBefore = await metric('oncehook_deliveries_total', '{source="demo",outcome="aborted"}');
    const jobsBefore = await view.jobCount();
    await Promise.all(
      Array.from({ length: 50 }, async (_, i) => {
        const socket = net.connect(port(), '127.0.0.1');
        socket.on('error', () => {});
        await new Promise((r) => socket.once('connect', r));
        const body = JSON.stringify({
          event_id: `evt_abort_${i}`,
          type: 'payment.succeeded',
          amount: 1,
          currency: 'USD',
        });
        socket.write(
          `POST /webhook HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\n\r\n`,
        );
        socket.write(body.slice(0, 10));
        await sleep(100);
        socket.destroy();
      }),
    );
    await waitFor(
      async () =>
        (await metric('oncehook_deliveries_total', '{source="demo",outcome="aborted"}')) - abortedBefore ===
        50,
      10_000,
      '50 aborted deliveries counted',
    );
    expect(await view.jobCount()).toBe(jobsBefore);
    expect(s.ingest.output()).not.toMatch(/"level":50/);
    await stillServes();
  });

  it('a body over MAX_BODY_BYTES: 413, the connection is closed rather than left broken', async () => {
    const answer = await request('/webhook', Buffer.alloc(2 * 1024 * 1024, 'x'), {}, keepAlive);
    expect(answer.status).toBe(413);
    expect(answer.headers.connection).toBe('close');
    await stillServes();
  });

  it.each([
    ['a wrong content type', '/webhook', { 'content-type': 'text/plain' }, 415],
    ['an unknown source', '/webhooks/nope', {}, 404],
    ['__proto__ as source', '/webhooks/__proto__', {}, 404],
    ['constructor as source', '/webhooks/constructor', {}, 404],
    ['toString as source', '/webhooks/toString', {}, 404],
  ] as const)(
    '%s: %s, and the same connection serves the next delivery',
    async (_what, path, headers, status) => {
      const answer = await request(path, '{"event_id":"evt_x"}', headers, keepAlive);
      expect(answer.status).toBe(status);
      expect(JSON.parse(answer.text).error.code).toMatch(/^[a-z_]+$/);
      await stillServes();
    },
  );
});

describe('oversized fields', () => {
  it('an event type of a megabyte with control characters is refused and not stored', async () => {
    const body = JSON.stringify({
      event_id: 'evt_big_type',
      type: `pay\u0000${'t'.repeat(900_000)}`,
      amount: 1,
      currency: 'USD',
    });
    const answer = await request('/webhook', body, {}, keepAlive);
    expect(answer.status).toBe(422);
    expect(JSON.parse(answer.text).error.code).toBe('invalid_event_type');
    expect(await view.redis.exists(view.keys.event(eventTag('demo', 'evt_big_type')))).toBe(0);
    await stillServes();
  });

  it('a megabyte e-mail is accepted at the door, fails validation at attempt 1, and leaves a small record', async () => {
    const body = JSON.stringify({
      event_id: 'evt_big_mail',
      type: 'payment.succeeded',
      amount: 1,
      currency: 'USD',
      email: `${'a'.repeat(1_000_000)}@example.com`,
    });
    expect((await request('/webhook', body, {}, keepAlive)).status).toBe(200);
    expect(await s.waitFor(['evt_big_mail'], ['failed'], 30_000)).toEqual([]);
    const status = await s.status('evt_big_mail');
    expect(status?.attempts).toBe(1);
    expect([...s.apis.charges.values()].some((c) => c.metadata.event_id === 'evt_big_mail')).toBe(false);
    const bytes = Number(await view.redis.memory('USAGE', view.keys.event(eventTag('demo', 'evt_big_mail'))));
    expect(bytes).toBeLessThan(4096);
    await stillServes();
  });
});

describe('poison jobs added straight to the queues', () => {
  it('fail at their first attempt instead of using up their retries', async () => {
    const events = new Queue(QUEUES.events, { connection: view.redis, prefix: `{${s.prefix}}` });
    const workflows = new Queue(QUEUES.workflows, { connection: view.redis, prefix: `{${s.prefix}}` });
    try {
      const good = {
        source: 'demo',
        eventId: 'evt_p',
        type: 'payment.succeeded',
        payload: '{}',
        receivedAt: 1,
        windowSeconds: 60,
      };
      const jobs = [
        await events.add('event', { ...good, source: 'Not.A:Source' }, { attempts: 8 }),
        await events.add('event', { nothing: 'here' }, { attempts: 8 }),
        await events.add('event', { ...good, receivedAt: 'later' }, { attempts: 8 }),
        await workflows.add(
          'workflow',
          { ...good, workflow: 'no-such-workflow' },
          { attempts: 8, jobId: workflowJobId(eventTag('demo', 'evt_p'), 1, 'no-such-workflow') },
        ),
      ];
      await waitFor(
        async () => {
          const states = await Promise.all(jobs.map((j) => j.getState()));
          return states.every((st) => st === 'failed');
        },
        30_000,
        'every poison job failed',
      );
      for (const job of jobs) {
        const fresh = await (job.queueName === QUEUES.events ? events : workflows).getJob(job.id ?? '');
        expect([job.id, fresh?.attemptsMade]).toEqual([job.id, 1]);
      }
    } finally {
      await events.close();
      await workflows.close();
    }
    await stillServes();
  });
});
