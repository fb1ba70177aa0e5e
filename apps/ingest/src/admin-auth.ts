import { timingSafeEqual } from 'node:crypto';
import type { MiddlewareHandler } from 'hono';
import { ApiError } from './errors.ts';

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

/**
 * Guards /admin: HTTP Basic with any user name and a token as the password (so a browser can open
 * the dashboard), or `Authorization: Bearer <token>` (for scripts). Every token is compared, in
 * constant time, so the answer's timing says nothing about which one nearly matched.
 */
export function adminAuth(credentials: AdminCredentials): MiddlewareHandler<AdminEnv> {
  const tokens = asTokens(credentials).map((t) => ({ name: t.name, bytes: Buffer.from(t.token) }));
  const operatorOf = (given: string) => {
    const bytes = Buffer.from(given);
    let found: string | undefined;
    for (const t of tokens) {
      if (bytes.length === t.bytes.length && timingSafeEqual(bytes, t.bytes)) found ??= t.name;
    }
    return found;
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
    const operator = given ? operatorOf(given) : undefined;
    if (!operator) {
      c.header('WWW-Authenticate', 'Basic realm="oncehook admin", charset="UTF-8"');
      throw new ApiError('unauthorized', 'Admin access needs ADMIN_TOKEN (Basic password or Bearer token).');
    }
    c.set('operator', operator);
    await next();
  };
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
