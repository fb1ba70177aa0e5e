import { timingSafeEqual } from 'node:crypto';
import type { MiddlewareHandler } from 'hono';
import { ApiError } from './errors.ts';

/**
 * Guards /admin: HTTP Basic with any user name and ADMIN_TOKEN as the password (so a browser can
 * open the dashboard), or `Authorization: Bearer <ADMIN_TOKEN>` (for scripts).
 */
export function adminAuth(token: string): MiddlewareHandler {
  const expected = Buffer.from(token);
  const matches = (given: string) => {
    const bytes = Buffer.from(given);
    return bytes.length === expected.length && timingSafeEqual(bytes, expected);
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
    if (!given || !matches(given)) {
      c.header('WWW-Authenticate', 'Basic realm="oncehook admin", charset="UTF-8"');
      throw new ApiError('unauthorized', 'Admin access needs ADMIN_TOKEN (Basic password or Bearer token).');
    }
    await next();
  };
}
