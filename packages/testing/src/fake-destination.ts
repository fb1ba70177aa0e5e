import { mkdtempSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Webhook } from 'standardwebhooks';

/** One request a destination received, and what it answered. */
export interface DestinationHit {
  webhookId: string;
  idempotencyKey: string;
  headers: IncomingHttpHeaders;
  body: Buffer;
  /** The signature checked with the official `standardwebhooks` library. */
  verified: boolean;
  /** Arrival and answer, ms since the destination started (its own clock). */
  arrived: number;
  answered?: number;
  status?: number;
}

/** How the destination answers a request: a status (and body), after `delayMs`; or never (`hang`). */
export type DestinationAnswer =
  | { status: number; body?: string; delayMs?: number; headers?: Record<string, string> }
  | 'hang';

/** A signing secret as Standard Webhooks shows it. */
export const DESTINATION_SECRET = `whsec_${Buffer.from('oncehook-test-destination-secret').toString('base64')}`;

/**
 * An HTTP service events are forwarded to (DESTINATIONS_FILE), on a fixed port: it records every
 * request, verifies its signature, and answers as `answer` says (default 200 "ok"). `down()` stops
 * it listening (connections refused, those open dropped) and `up()` brings it back on the same port.
 * It counts the requests in progress at once, overall and per key (`keyOf`), to check limits and
 * ordering at the receiving end.
 */
export async function startFakeDestination(
  options: {
    secret?: string;
    answer?: (hit: DestinationHit, n: number) => DestinationAnswer;
    keyOf?: (hit: DestinationHit) => string | undefined;
  } = {},
) {
  const webhook = new Webhook(options.secret ?? DESTINATION_SECRET);
  const started = performance.now();
  const hits: DestinationHit[] = [];
  let answer = options.answer ?? ((): DestinationAnswer => ({ status: 200, body: 'ok' }));
  const inProgress = new Map<string, number>();
  const most = { all: 0, perKey: 0 };
  const sockets = new Set<Socket>();
  const take = (key: string, by: number) => {
    const n = (inProgress.get(key) ?? 0) + by;
    inProgress.set(key, n);
    return n;
  };
  const handle = (server: Server) =>
    server.on('request', (req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const body = Buffer.concat(chunks);
        const hit: DestinationHit = {
          webhookId: String(req.headers['webhook-id'] ?? ''),
          idempotencyKey: String(req.headers['idempotency-key'] ?? ''),
          headers: req.headers,
          body,
          verified: verify(webhook, body, req.headers),
          arrived: performance.now() - started,
        };
        hits.push(hit);
        const key = options.keyOf?.(hit);
        most.all = Math.max(most.all, take('', 1));
        if (key !== undefined) most.perKey = Math.max(most.perKey, take(key, 1));
        const reply = answer(hit, hits.length);
        if (reply === 'hang') return;
        setTimeout(() => {
          take('', -1);
          if (key !== undefined) take(key, -1);
          // Taken down meanwhile: the answer never leaves.
          if (req.socket.destroyed) return;
          hit.answered = performance.now() - started;
          hit.status = reply.status;
          res
            .writeHead(reply.status, { 'content-type': 'text/plain', ...reply.headers })
            .end(reply.body ?? '');
        }, reply.delayMs ?? 0);
      });
    });
  const track = (socket: Socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  };
  let server = handle(createServer()).on('connection', track);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;

  return {
    url: `http://127.0.0.1:${port}/hooks`,
    hits,
    /** The most requests in progress at once, overall and for any one key. */
    most,
    /** Requests answered 2xx. */
    delivered: () => hits.filter((h) => h.status !== undefined && h.status < 300),
    answerWith(next: (hit: DestinationHit, n: number) => DestinationAnswer) {
      answer = next;
    },
    /** Stops listening and drops every open connection: requests fail as if the service were gone. */
    async down() {
      if (!server.listening) return;
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        for (const s of sockets) s.destroy();
      });
    },
    async up() {
      if (server.listening) return;
      server = handle(createServer()).on('connection', track);
      await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
      inProgress.clear();
    },
    close() {
      for (const s of sockets) s.destroy();
      return new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

function verify(webhook: Webhook, body: Buffer, headers: IncomingHttpHeaders): boolean {
  try {
    webhook.verify(body, headers as Record<string, string>, { jsonParse: false });
    return true;
  } catch {
    return false;
  }
}

/**
 * A DESTINATIONS_FILE with `entries` (their secret: DESTINATION_SECRET, in the variable of that name
 * unless an entry names its own), and the environment a worker needs for it.
 */
export function destinationsEnv(entries: Record<string, unknown>[]): Record<string, string> {
  const dir = mkdtempSync(join(tmpdir(), 'oncehook-destinations-'));
  const file = join(dir, 'destinations.json');
  writeFileSync(file, JSON.stringify(entries.map((e) => ({ secretEnv: 'DESTINATION_SECRET', ...e }))));
  return { DESTINATIONS_FILE: file, DESTINATION_SECRET };
}
