import { timingSafeEqual } from 'node:crypto';
import type { Logger } from '@oncehook/shared';
import type { Context, MiddlewareHandler } from 'hono';
import { ApiError } from './errors.ts';
import { FailedAttempts } from './failed-attempts.ts';
import { nodeRequest } from './request-body.ts';

/** One operator's credential: its name is what the logs say asked (a replay, for one). */
export interface AdminToken {
  name: string;
  token: string;
}

/** ADMIN_TOKEN alone (its operator is "admin"), or every named token (ADMIN_TOKENS) too. */
export type AdminCredentials = string | readonly AdminToken[];

/** What the admin routes read from the context: the name of the token that was presented. */
export type AdminEnv = { Variables: { operator: string } };

const asTokens = (credentials: AdminCredentials): readonly AdminToken[] =>
  typeof credentials === 'string' ? [{ name: 'admin', token: credentials }] : credentials;

export interface AdminAuthOptions {
  /** Where a wrong token is reported (never the token itself). */
  log?: Logger | undefined;
  /** Shared by every route the credentials guard, so that /status cannot be used to guess freely. */
  failures?: FailedAttempts;
}

/**
 * Guards /admin: HTTP Basic with any user name and a token as the password (so a browser can open
 * the dashboard), or `Authorization: Bearer <token>` (for scripts). Every token is compared, in
 * constant time, so the answer's timing says nothing about which one nearly matched. A wrong token
 * is logged with the client's address, and repeated ones close that address for a while
 * (failed-attempts.ts): 429 without a comparison.
 */
export function adminAuth(
  credentials: AdminCredentials,
  { log, failures = new FailedAttempts() }: AdminAuthOptions = {},
): MiddlewareHandler<AdminEnv> {
  const tokens = asTokens(credentials).map((t) => ({ name: t.name, bytes: Buffer.from(t.token) }));
  const operatorOf = (given: string) => {
    const bytes = Buffer.from(given);
    let found: string | undefined;
    for (const t of tokens) {
      if (bytes.length === t.bytes.length && timingSafeEqual(bytes, t.bytes)) found ??= t.name;
    }
    return found;
  };
  const challenge = (c: Context) => {
    c.header('WWW-Authenticate', 'Basic realm="oncehook admin", charset="UTF-8"');
    return new ApiError('unauthorized', 'Admin access needs ADMIN_TOKEN (Basic password or Bearer token).');
  };
  return async function adminAuth(c, next) {
    const header = c.req.header('authorization') ?? '';
    const [scheme, value = ''] = header.split(' ', 2);
    let given = '';
    if (scheme?.toLowerCase() === 'bearer') given = value;
    if (scheme?.toLowerCase() === 'basic') {
      const decoded = Buffer.from(value, 'base64').toString('utf8');
      given = decoded.slice(decoded.indexOf(':') + 1);
    }
    // No token at all is a browser's first request, before it asks for the password: not a failure.
    if (!given) throw challenge(c);
    const address = clientAddress(c);
    const wait = failures.waitFor(address);
    if (wait > 0) {
      c.header('Retry-After', String(Math.ceil(wait / 1000)));
      throw new ApiError(
        'too_many_attempts',
        `Too many wrong admin tokens from this address: try again in ${Math.ceil(wait / 1000)} s.`,
      );
    }
    const operator = operatorOf(given);
    if (!operator) {
      const count = failures.record(address);
      log?.warn(
        { address, method: c.req.method, path: c.req.path, scheme: scheme?.toLowerCase(), failures: count },
        'admin: a wrong token was presented',
      );
      throw challenge(c);
    }
    failures.clear(address);
    c.set('operator', operator);
    await next();
  };
}

/** The peer's address as the socket says (forwarded headers are anyone's to write). */
function clientAddress(c: Context): string {
  return nodeRequest(c)?.socket.remoteAddress ?? 'unknown';
}

/** The ingest's credentials from its env: undefined when neither variable is set (no admin surface). */
export function adminCredentials(env: {
  ADMIN_TOKEN?: string | undefined;
  ADMIN_TOKENS?: readonly AdminToken[] | undefined;
}): readonly AdminToken[] | undefined {
  const all = [
    ...(env.ADMIN_TOKEN ? [{ name: 'admin', token: env.ADMIN_TOKEN }] : []),
    ...(env.ADMIN_TOKENS ?? []),
  ];
  return all.length > 0 ? all : undefined;
}
