import type { Logger } from '@oncehook/shared';
import type { Context, MiddlewareHandler } from 'hono';
import type { AdminEnv } from './admin-auth.ts';
import { ApiError } from './errors.ts';

/**
 * A browser sends the Basic credentials it has cached with any request to the admin side, a
 * cross-site form post included (SameSite covers cookies, not HTTP auth): without this, a page on
 * another site opened by an operator could retry, replay or add jobs in the operator's name.
 *
 * So a request that changes something (any method but GET and HEAD) is taken only when the browser
 * says it comes from this origin: `Sec-Fetch-Site: same-origin` (or `none`: typed by the user), or,
 * from a browser that sends no Sec-Fetch-Site, an `Origin` that is this request's own origin or
 * PUBLIC_URL's. A client that sends neither header is not a browser (curl, scripts, the CLI): it
 * holds the token itself, and is let through.
 */
export function sameOriginWrites(publicUrl?: string, log?: Logger): MiddlewareHandler<AdminEnv> {
  const publicOrigin = publicUrl ? new URL(publicUrl).origin : undefined;
  return async function sameOriginWrites(c, next) {
    if (c.req.method === 'GET' || c.req.method === 'HEAD') return next();
    const site = c.req.header('sec-fetch-site');
    const origin = c.req.header('origin');
    const allowed =
      site !== undefined
        ? site === 'same-origin' || site === 'none'
        : origin === undefined || isOwnOrigin(c, origin, publicOrigin);
    if (!allowed) {
      log?.warn(
        { operator: c.get('operator'), method: c.req.method, path: c.req.path, origin, site },
        'admin: a cross-site request was refused',
      );
      throw new ApiError(
        'cross_site_request',
        'This admin request came from another site: changes are taken from the dashboard’s own origin, or from a client that is not a browser.',
      );
    }
    return next();
  };
}

/** The origin the request was addressed to (its Host, either scheme: TLS may end before us). */
function isOwnOrigin(c: Context, origin: string, publicOrigin: string | undefined): boolean {
  if (origin === publicOrigin) return true;
  try {
    const given = new URL(origin);
    const own = new URL(c.req.url);
    return (given.protocol === 'http:' || given.protocol === 'https:') && given.host === own.host;
  } catch {
    // `null` (a sandboxed frame, a file) and anything else that is not an origin.
    return false;
  }
}
