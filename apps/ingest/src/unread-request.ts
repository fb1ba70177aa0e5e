import type { Socket } from 'node:net';
import type { MiddlewareHandler } from 'hono';
import { nodeRequest } from './request-body.ts';

/**
 * Middleware: an answer that leaves before its request has fully arrived (404, 415, 413, any
 * refusal on the headers alone) says `Connection: close`, since the rest of the body would be read
 * as the client's next request. A body that did arrive but was not read is discarded by the
 * server, and the connection stays open for the client's next delivery.
 */
export const closeUnreadRequests = (lingerMs: number): MiddlewareHandler =>
  async function closeUnreadRequests(c, next) {
    await next();
    const incoming = nodeRequest(c);
    if (!incoming || incoming.complete) return;
    c.header('Connection', 'close');
    lingerBeforeClose(incoming.socket, lingerMs);
  };

/**
 * Closes the connection the way RFC 9112 §9.6 asks of a server whose client is still sending:
 * answer, half-close, and keep reading (and discarding) until the client closes its side or
 * `lingerMs` (HTTP_LINGER_MS) pass. Closing at once, as Node does after `Connection: close`,
 * leaves the client's bytes arriving on a closed socket; the kernel answers them with a reset,
 * which can destroy the answer before the client has read it: the sender sees EPIPE or
 * ECONNRESET instead of the 413 that tells it what is wrong.
 */
function lingerBeforeClose(socket: Socket, lingerMs: number) {
  // Node's server calls destroySoon() once the answer is written on a connection it closes.
  socket.destroySoon = function lingeringDestroySoon() {
    const close = () => {
      clearTimeout(timer);
      socket.destroy();
    };
    const timer = setTimeout(close, lingerMs).unref();
    socket.once('end', close).once('close', close);
    socket.end();
    socket.resume();
  };
}
