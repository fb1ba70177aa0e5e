import type { IncomingMessage } from 'node:http';
import type { Context, MiddlewareHandler } from 'hono';
import { ApiError } from './errors.ts';

/** How a verifier reads headers: a web `Headers`, or the view of a Node request below. */
export interface HeaderReader {
  get(name: string): string | null;
}

/**
 * The delivery as sent, read straight from Node's request when there is one (in production, under
 * @hono/node-server): no web `Request`, `Headers` or stream is built for a webhook, which would
 * cost more CPU than everything else a delivery does. Tests that call `app.request()` have no Node
 * request and go through the web objects instead.
 */
export function headersOf(c: Context): HeaderReader {
  const incoming = nodeRequest(c);
  if (!incoming) return c.req.raw.headers;
  return {
    get(name) {
      const value = incoming.headers[name.toLowerCase()];
      if (value === undefined) return null;
      return Array.isArray(value) ? value.join(', ') : value;
    },
  };
}

/**
 * The full URL the sender addressed, for URL-signing schemes: `publicUrl` (PUBLIC_URL) followed by
 * the path and query exactly as they arrived, or else this request's own origin. Forwarded headers
 * are never trusted for it: the operator says where the ingest is reached.
 */
export function requestUrl(c: Context, publicUrl?: string): string {
  const base = publicUrl?.replace(/\/+$/, '');
  const incoming = nodeRequest(c);
  // The ingest itself only ever serves plain HTTP (TLS ends before it, hence PUBLIC_URL).
  if (incoming) return `${base ?? `http://${incoming.headers.host ?? 'localhost'}`}${incoming.url ?? '/'}`;
  const received = new URL(c.req.url);
  return `${base ?? received.origin}${received.pathname}${received.search}`;
}

/**
 * Whether the whole request has arrived. When an answer leaves before that (refused on its headers,
 * or too large), the rest of the body would still be on the connection: it must then be closed, or
 * the client's next request on it would be read as the tail of this one.
 */
function requestComplete(c: Context): boolean {
  const incoming = nodeRequest(c);
  return !incoming || incoming.complete;
}

/**
 * Middleware: an answer that leaves before its request has fully arrived (404, 415, 413, any
 * refusal on the headers alone) says `Connection: close`. A body that did arrive but was not read
 * is discarded by the server, and the connection stays open for the client's next delivery.
 */
export const closeUnreadRequests = (): MiddlewareHandler =>
  async function closeUnreadRequests(c, next) {
    await next();
    if (!requestComplete(c)) c.header('Connection', 'close');
  };

export class ClientGone extends Error {
  override name = 'ClientGone';
}

/**
 * The whole body, at most `maxBytes` of it: a larger one is refused (413) without reading the
 * rest. A client that goes away mid-body is `ClientGone`.
 */
export async function readBody(c: Context, maxBytes: number): Promise<Buffer> {
  const tooLarge = () => new ApiError('payload_too_large', `The body exceeds ${maxBytes} bytes.`);
  const incoming = nodeRequest(c);
  if (!incoming) {
    const declared = Number(c.req.header('content-length') ?? 0);
    if (declared > maxBytes) throw tooLarge();
    const body = Buffer.from(await c.req.arrayBuffer());
    if (body.length > maxBytes) throw tooLarge();
    return body;
  }
  if (Number(incoming.headers['content-length'] ?? 0) > maxBytes) throw tooLarge();
  return new Promise<Buffer>((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const done = (err?: Error) => {
      incoming
        .off('data', onData)
        .off('end', onEnd)
        .off('aborted', onGone)
        .off('error', onGone)
        .off('close', onClose);
      if (err) reject(err);
      else resolve(chunks.length === 1 ? (chunks[0] as Buffer) : Buffer.concat(chunks, size));
    };
    const onData = (chunk: Buffer) => {
      size += chunk.length;
      if (size > maxBytes) {
        incoming.pause();
        done(tooLarge());
      } else chunks.push(chunk);
    };
    const onEnd = () => done();
    const onGone = () => done(new ClientGone('the client went away before the whole body arrived'));
    const onClose = () => !incoming.complete && onGone();
    incoming
      .on('data', onData)
      .once('end', onEnd)
      .once('aborted', onGone)
      .once('error', onGone)
      .once('close', onClose);
  });
}

function nodeRequest(c: Context): IncomingMessage | undefined {
  return (c.env as { incoming?: IncomingMessage } | undefined)?.incoming;
}
