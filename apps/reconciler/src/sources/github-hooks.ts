import { type RateLimitOf, retryAfterMs } from '../rate-limit.ts';

/**
 * GitHub's record of a webhook's deliveries (`GET /{hook}/deliveries`, newest first, cursor
 * pages) and its redelivery (`POST /{hook}/deliveries/{id}/attempts`), with plain fetch at
 * GITHUB_API_URL. `{hook}` is `repos/{owner}/{repo}/hooks/{id}` or `orgs/{org}/hooks/{id}`.
 */
export interface HookDelivery {
  /** This attempt's id: what a redelivery is asked for. */
  id: number;
  /** The event's id, kept by every redelivery: the ingest's `X-GitHub-Delivery`. */
  guid: string;
  delivered_at: string;
  redelivery: boolean;
  /** The receiver's HTTP status; 0 when there was no answer (a timeout, a refused connection). */
  status_code: number;
  event: string;
  action: string | null;
}

export class GithubApiError extends Error {
  override name = 'GithubApiError';
  constructor(
    readonly status: number,
    message: string,
    readonly rateLimited: boolean,
    readonly retryAfterMs?: number,
  ) {
    super(message);
  }
}

export interface GithubHooksApi {
  listDeliveries(hook: string, cursor?: string): Promise<{ deliveries: HookDelivery[]; cursor?: string }>;
  redeliver(hook: string, deliveryId: number): Promise<void>;
}

const PAGE_SIZE = 100;

export function githubHooksApi(baseUrl: string, token: string): GithubHooksApi {
  const base = baseUrl.replace(/\/+$/, '');
  const call = async (method: 'GET' | 'POST', path: string) => {
    const res = await fetch(`${base}/${path}`, {
      method,
      headers: {
        accept: 'application/vnd.github+json',
        authorization: `Bearer ${token}`,
        'x-github-api-version': '2022-11-28',
        'user-agent': 'oncehook-reconciler',
      },
      signal: AbortSignal.timeout(30_000),
    });
    if (!res.ok) throw await errorOf(res, `${method} /${path}`);
    return res;
  };
  return {
    async listDeliveries(hook, cursor) {
      const query = new URLSearchParams({ per_page: String(PAGE_SIZE), ...(cursor ? { cursor } : {}) });
      const res = await call('GET', `${hook}/deliveries?${query}`);
      return {
        deliveries: (await res.json()) as HookDelivery[],
        cursor: nextCursor(res.headers.get('link')),
      };
    },
    async redeliver(hook, deliveryId) {
      await call('POST', `${hook}/deliveries/${deliveryId}/attempts`);
    },
  };
}

/**
 * The `cursor` of the `rel="next"` link. Only the cursor is taken from it: the token goes to
 * GITHUB_API_URL and nowhere a response header points.
 */
export function nextCursor(link: string | null): string | undefined {
  for (const part of link?.split(',') ?? []) {
    const match = /<([^>]+)>\s*;\s*rel="next"/.exec(part);
    if (match?.[1])
      return new URL(match[1], 'https://api.github.com').searchParams.get('cursor') ?? undefined;
  }
  return undefined;
}

async function errorOf(res: Response, what: string): Promise<GithubApiError> {
  const text = (await res.text().catch(() => '')).slice(0, 300);
  // GitHub's primary limit answers 403 (or 429) with no requests left until x-ratelimit-reset;
  // its secondary limits answer either with Retry-After.
  const exhausted = res.headers.get('x-ratelimit-remaining') === '0';
  const limited = res.status === 429 || (res.status === 403 && (exhausted || res.headers.has('retry-after')));
  const reset = Number(res.headers.get('x-ratelimit-reset'));
  const wait =
    retryAfterMs(res.headers.get('retry-after')) ??
    (exhausted && reset > 0 ? Math.max(0, reset * 1000 - Date.now()) : undefined);
  return new GithubApiError(res.status, `GitHub answered ${res.status} to ${what}: ${text}`, limited, wait);
}

export const githubRateLimit: RateLimitOf = (err) =>
  err instanceof GithubApiError && err.rateLimited ? { retryAfterMs: err.retryAfterMs } : null;
