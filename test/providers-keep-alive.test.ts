import { readFileSync } from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import { join } from 'node:path';
import { PROVIDER_LIST } from '@oncehook/ingest/providers';
import { EXAMPLES, exampleOf, SIGNERS, signerOf } from '@oncehook/ingest/sign';
import { ROOT, type System, sleep, startSystem, waitFor } from '@oncehook/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { docsOf } from '../scripts/provider-docs.ts';

/**
 * A provider must never see a delivery fail for a refusal it did not cause. After every kind of
 * refusal, of every registered provider, a valid delivery of that provider goes out on the same
 * keep-alive connection and must be answered 200: either the connection was still good (and was
 * reused), or the refusal said `Connection: close` (and the client opened another). A refusal
 * that leaves an unread body on an open connection fails here: the next request is then read as
 * the tail of the last one, or the socket is reset under it.
 */
type Module = (typeof PROVIDER_LIST)[number];
const providers = PROVIDER_LIST as readonly Module[];
const ENV = Object.fromEntries(
  providers.map((p) => [p.secretEnv[0], exampleOf(p.name).secret('keep-alive')]),
);
const LARGE = 900 * 1024; // under MAX_BODY_BYTES (1 MiB): read in many chunks
const LINGER_MS = 1000; // HTTP_LINGER_MS, shortened

let s: System;
beforeAll(async () => {
  s = await startSystem({ workers: 0, env: { ...ENV, HTTP_LINGER_MS: String(LINGER_MS) } });
});
afterAll(async () => {
  await s?.stop();
});

interface Answer {
  status: number;
  text: string;
  connection: string | undefined;
  reused: boolean;
}

function request(agent: http.Agent, path: string, body: string, headers: Record<string, string>) {
  return new Promise<Answer>((resolve, reject) => {
    const url = new URL(path, s.base);
    const req = http.request(
      { host: url.hostname, port: url.port, path, method: 'POST', agent, headers },
      (res) => {
        let text = '';
        res.on('data', (d) => {
          text += d;
        });
        res.on('end', () =>
          resolve({
            status: res.statusCode ?? 0,
            text,
            connection: res.headers.connection,
            reused: req.reusedSocket,
          }),
        );
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

describe.each(providers)('$name: a valid delivery on the same connection after each refusal', (provider) => {
  const fixture = readFileSync(join(ROOT, 'fixtures', exampleOf(provider.name).fixture), 'utf8');
  const path = `/webhooks/${provider.name}`;
  const contentType = exampleOf(provider.name).contentType ?? 'application/json';
  let n = 0;
  const signed = async (secret = exampleOf(provider.name).secret('keep-alive'), nowMs = Date.now()) => {
    const event = exampleOf(provider.name).nth(fixture, ++n);
    const headers = await signerOf(provider.name)({
      body: event.body,
      secret,
      id: event.id,
      nowMs,
      url: `${s.base}${path}`,
    });
    return { body: event.body, headers: { 'content-type': contentType, ...headers } };
  };

  const refusals: [string, () => Promise<{ body: string; headers: Record<string, string> }>][] = [
    ['a tampered body', async () => signed().then((d) => ({ ...d, body: `${d.body} ` }))],
    ['a large tampered body', async () => signed().then((d) => ({ ...d, body: d.body + ' '.repeat(LARGE) }))],
    ['a wrong secret', () => signed(exampleOf(provider.name).secret('stranger'))],
    [
      'a wrong content type, with a large body',
      async () => {
        const d = await signed();
        return { body: d.body + ' '.repeat(LARGE), headers: { ...d.headers, 'content-type': 'text/plain' } };
      },
    ],
    ...docsOf(provider.name).requiredHeaders.map((header): (typeof refusals)[number] => [
      `no ${header}`,
      async () => {
        const d = await signed();
        return {
          ...d,
          headers: Object.fromEntries(
            Object.entries(d.headers).filter(([k]) => k.toLowerCase() !== header.toLowerCase()),
          ),
        };
      },
    ]),
    ...(provider.timestamped
      ? [
          [
            'a stale timestamp',
            () => signed(undefined, Date.now() - 10 * 60_000),
          ] as (typeof refusals)[number],
        ]
      : []),
  ];

  it.each(refusals)('%s', async (_what, make) => {
    const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
    try {
      const first = await signed();
      expect((await request(agent, path, first.body, first.headers)).status).toBe(200);
      const bad = await make();
      const refused = await request(agent, path, bad.body, bad.headers);
      expect(refused.status).toBeGreaterThanOrEqual(400);
      expect(refused.status).toBeLessThan(500);
      const next = await signed();
      const answer = await request(agent, path, next.body, next.headers);
      expect(answer.status, answer.text).toBe(200);
      expect(refused.connection === 'close' || answer.reused).toBe(true);
    } finally {
      agent.destroy();
    }
  });
});

describe('early refusals of any source: the next delivery on the connection works', () => {
  const _demo = providers.find((p) => p.name === 'demo') as Module;
  const demoFixture = readFileSync(join(ROOT, 'fixtures', EXAMPLES.demo.fixture), 'utf8');
  let n = 0;
  const validDemo = async () => {
    const event = EXAMPLES.demo.nth(demoFixture, 1000 + ++n);
    const headers = await SIGNERS.demo({
      body: event.body,
      secret: EXAMPLES.demo.secret('keep-alive'),
      id: event.id,
      nowMs: 0,
    });
    return { body: event.body, headers: { 'content-type': 'application/json', ...headers } };
  };
  const signedDemo = async (body: string) => ({
    'content-type': 'application/json',
    ...(await SIGNERS.demo({ body, secret: EXAMPLES.demo.secret('keep-alive'), id: '', nowMs: 0 })),
  });
  const big = ' '.repeat(LARGE);
  const form = { 'content-type': 'application/x-www-form-urlencoded' };

  it.each<[string, number, () => Promise<[string, string, Record<string, string>]>]>([
    ['an unknown source', 404, async () => ['/webhooks/nope', '{}', { 'content-type': 'application/json' }]],
    [
      'an unknown source, with a large body',
      404,
      async () => ['/webhooks/nope', `{}${big}`, { 'content-type': 'application/json' }],
    ],
    ['no such route', 404, async () => ['/nowhere', `{}${big}`, { 'content-type': 'application/json' }]],
    [
      'a body over MAX_BODY_BYTES',
      413,
      async () => ['/webhook', 'x'.repeat(2 * 1024 * 1024), { 'content-type': 'application/json' }],
    ],
    ['a wrong content type', 415, async () => ['/webhook', `{}${big}`, { 'content-type': 'text/plain' }]],
    ['a form body where JSON is expected', 415, async () => ['/webhooks/stripe', `a=b${big}`, form]],
    ['a bad signature', 401, async () => ['/webhook', `{}${big}`, { 'content-type': 'application/json' }]],
    [
      'invalid JSON',
      400,
      async () => {
        const body = `{"event_id":${big}`;
        return ['/webhook', body, await signedDemo(body)];
      },
    ],
    [
      'an event type with control characters',
      422,
      async () => {
        const body = JSON.stringify({ event_id: 'evt_bad_type', type: `a\u0000b${big}` });
        return ['/webhook', body, await signedDemo(body)];
      },
    ],
    [
      'a Slack form with a bad signature',
      401,
      async () => ['/webhooks/slack', `command=%2Fx&trigger_id=1${big}`, form],
    ],
    [
      'a GitHub form without its payload field',
      400,
      async () => {
        const body = `other=1${big}`;
        const headers = await SIGNERS.github({
          body,
          secret: EXAMPLES.github.secret('keep-alive'),
          id: 'gh-form-1',
          nowMs: 0,
        });
        return ['/webhooks/github', body, { ...headers, ...form }];
      },
    ],
    [
      'a Twilio delivery that is neither form-encoded nor JSON',
      415,
      async () => ['/webhooks/twilio', `{}${big}`, { 'content-type': 'text/plain' }],
    ],
  ])('%s (%i)', async (_what, status, make) => {
    const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
    try {
      const first = await validDemo();
      expect((await request(agent, '/webhook', first.body, first.headers)).status).toBe(200);
      const [path, body, headers] = await make();
      const refused = await request(agent, path, body, headers);
      expect(refused.status).toBe(status);
      const next = await validDemo();
      const answer = await request(agent, '/webhook', next.body, next.headers);
      expect(answer.status, answer.text).toBe(200);
      expect(refused.connection === 'close' || answer.reused).toBe(true);
    } finally {
      agent.destroy();
    }
  });

  it('with Node’s fetch (one pool): 2 MiB → 413, then a valid delivery is answered 200', async () => {
    const refused = await fetch(`${s.base}/webhook`, {
      method: 'POST',
      body: 'x'.repeat(2 * 1024 * 1024),
      headers: { 'content-type': 'application/json' },
    });
    expect(refused.status).toBe(413);
    await refused.text();
    const next = await validDemo();
    const answer = await fetch(`${s.base}/webhook`, {
      method: 'POST',
      body: next.body,
      headers: next.headers,
    });
    expect(answer.status).toBe(200);
  });

  it('says Connection: close when it answers before the body arrived, and keeps the connection when it read it', async () => {
    const socket = net.connect(Number(new URL(s.base).port), '127.0.0.1');
    socket.on('error', () => {});
    const early = await exchange(
      socket,
      'POST /webhooks/nope HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100000\r\n\r\n{"a":',
    );
    expect(early.status).toBe(404);
    expect(early.headers.connection).toBe('close');
    socket.destroy();

    // Read to its end and refused: the same socket carries the next delivery.
    const kept = net.connect(Number(new URL(s.base).port), '127.0.0.1');
    try {
      const forged = '{"event_id":"evt_forged_ka","type":"x"}';
      const refused = await exchange(
        kept,
        rawPost('/webhook', forged, { 'x-oncehook-signature': `sha256=${'0'.repeat(64)}` }),
      );
      expect([refused.status, refused.headers.connection]).toEqual([401, 'keep-alive']);
      const next = await validDemo();
      expect((await exchange(kept, rawPost('/webhook', next.body, next.headers))).status).toBe(200);
    } finally {
      kept.destroy();
    }
  });
});

describe('a connection closed while its client is still sending', () => {
  const port = () => Number(new URL(s.base).port);
  const tooLarge = 'x'.repeat(2 * 1024 * 1024);

  // One sender per connection, four at a time; a reset under the 413 would be EPIPE/ECONNRESET.
  async function sendMany(send: (req: http.ClientRequest) => void) {
    const answers: string[] = [];
    const one = () =>
      new Promise<string>((resolve) => {
        const req = http.request(
          { host: '127.0.0.1', port: port(), path: '/webhook', method: 'POST', agent: false },
          (res) => {
            res.resume();
            res.on('end', () => resolve(String(res.statusCode)));
          },
        );
        req.setHeader('content-type', 'application/json');
        req.on('error', (err: NodeJS.ErrnoException) => resolve(err.code ?? err.message));
        send(req);
      });
    for (let i = 0; i < 10; i++) answers.push(...(await Promise.all([one(), one(), one(), one()])));
    return answers;
  }

  it('a body declared over MAX_BODY_BYTES: every sender reads its 413, none sees a reset', async () => {
    const answers = await sendMany((req) => req.end(tooLarge));
    expect(answers.filter((a) => a !== '413')).toEqual([]);
  });

  it('a chunked body that grows over MAX_BODY_BYTES: every sender reads its 413', async () => {
    const answers = await sendMany((req) => {
      for (let i = 0; i < 32; i++) req.write(tooLarge.slice(0, 64 * 1024));
      req.end();
    });
    expect(answers.filter((a) => a !== '413')).toEqual([]);
  });

  it('keeps reading what the client still sends, then closes once HTTP_LINGER_MS pass', async () => {
    // Half-open allowed, as an HTTP client's socket is: it may send on after the server's FIN.
    const socket = net.connect({ port: port(), host: '127.0.0.1', allowHalfOpen: true });
    const errors: string[] = [];
    socket.on('error', (err: NodeJS.ErrnoException) => errors.push(err.code ?? err.message));
    let ended = false;
    socket.once('end', () => {
      ended = true;
    });
    const early = await exchange(
      socket,
      'POST /webhooks/nope HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 10000000\r\n\r\n{"a":',
    );
    expect([early.status, early.headers.connection]).toEqual([404, 'close']);
    // The client goes on sending its body after the answer: the server reads it, no reset.
    for (let i = 0; i < 8; i++) {
      await new Promise<void>((resolve, reject) =>
        socket.write(' '.repeat(64 * 1024), (err) => (err ? reject(err) : resolve())),
      );
    }
    await sleep(100); // a reset, if any, has arrived by now
    expect(errors).toEqual([]);
    expect(socket.destroyed).toBe(false);
    // The server half-closed after its answer (FIN), as a staged close does.
    expect(ended).toBe(true);
    // The client never finishes: once the linger has passed the server has closed the connection,
    // and what the client sends then is refused by a reset.
    try {
      await waitFor(
        () => {
          socket.write(' ');
          return errors.length > 0;
        },
        LINGER_MS + 10_000,
        'the server closing the connection after HTTP_LINGER_MS',
      );
    } finally {
      socket.destroy();
    }
  });
});

function rawPost(path: string, body: string, headers: Record<string, string>) {
  const lines = Object.entries({ 'content-type': 'application/json', ...headers }).map(
    ([k, v]) => `${k}: ${v}`,
  );
  return `POST ${path} HTTP/1.1\r\nHost: x\r\n${lines.join('\r\n')}\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`;
}

/** Writes raw request bytes and reads one response (Content-Length bodies) off the socket. */
function exchange(socket: net.Socket, raw: string) {
  return new Promise<{ status: number; headers: Record<string, string>; body: string }>((resolve, reject) => {
    let got = Buffer.alloc(0);
    const onData = (d: Buffer) => {
      got = Buffer.concat([got, d]);
      const end = got.indexOf('\r\n\r\n');
      if (end < 0) return;
      const [statusLine = '', ...lines] = got.subarray(0, end).toString('latin1').split('\r\n');
      const headers = Object.fromEntries(
        lines.map((l) => [
          l.slice(0, l.indexOf(':')).toLowerCase(),
          l
            .slice(l.indexOf(':') + 1)
            .trim()
            .toLowerCase(),
        ]),
      );
      const length = Number(headers['content-length'] ?? 0);
      if (got.length < end + 4 + length) return;
      socket.off('data', onData);
      resolve({
        status: Number(statusLine.split(' ')[1]),
        headers,
        body: got.subarray(end + 4, end + 4 + length).toString(),
      });
    };
    socket.on('data', onData);
    socket.once('error', reject);
    socket.write(raw);
  });
}
