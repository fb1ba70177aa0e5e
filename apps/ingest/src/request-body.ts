import type { IncomingMessage } from 'node:http';
import type { Context } from 'hono';
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
        // The rest is not wanted: without a listener it is read and dropped, so the client can
        // finish sending and read the 413 (see unread-request.ts).
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

export function nodeRequest(c: Context): IncomingMessage | undefined {
  return (c.env as { incoming?: IncomingMessage } | undefined)?.incoming;
}
