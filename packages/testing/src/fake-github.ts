import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * GitHub's webhook deliveries API for the reconciler's tests: `GET /{hook}/deliveries` (newest
 * first, `per_page` + `cursor`, a `Link: rel="next"` header) and `POST /{hook}/deliveries/{id}/attempts`
 * (202, then the event is delivered again with its original guid through `deliver`, which the test
 * points at a real ingest with a real signature, and the attempt is listed with that answer's
 * status). `{hook}` is `repos/{owner}/{repo}/hooks/{id}` or `orgs/{org}/hooks/{id}`. As at GitHub,
 * an attempt older than 3 days cannot be redelivered (422).
 */
export interface FakeAttempt {
  id: number;
  guid: string;
  delivered_at: string;
  redelivery: boolean;
  duration: number;
  status: string;
  status_code: number;
  event: string;
  action: string | null;
  installation_id: null;
  repository_id: number;
}

export interface GithubEvent {
  guid: string;
  event: string;
  action?: string;
  /** The JSON body GitHub sends (and signs). */
  payload: string;
}

export type Deliver = (event: GithubEvent) => Promise<number>;

const HOOK_PATH = /^\/((?:repos\/[^/]+\/[^/]+|orgs\/[^/]+)\/hooks\/\d+)\/deliveries(?:\/(\d+)\/attempts)?$/;
const REDELIVERY_DAYS = 3;

export async function startFakeGithub({ token, deliver }: { token: string; deliver: Deliver }) {
  const hooks = new Map<string, FakeAttempt[]>();
  const payloads = new Map<string, GithubEvent>();
  const redeliveries: { hook: string; id: number; guid: string }[] = [];
  const settings = { pageSize: 100, rateLimited: 0, rateLimitStatus: 429 as 403 | 429 };
  const listCalls: { hook: string; cursor: string | null; status: number }[] = [];
  const inFlight = new Set<Promise<void>>();
  let nextId = 1;

  function record(hook: string, event: GithubEvent, statusCode: number, at: number, redelivery: boolean) {
    const attempt: FakeAttempt = {
      id: nextId++,
      guid: event.guid,
      delivered_at: new Date(at).toISOString().replace(/\.\d{3}Z$/, 'Z'),
      redelivery,
      duration: 0.1,
      status:
        statusCode >= 200 && statusCode < 300
          ? 'OK'
          : statusCode
            ? `Invalid HTTP Response: ${statusCode}`
            : 'timed out',
      status_code: statusCode,
      event: event.event,
      action: event.action ?? null,
      installation_id: null,
      repository_id: 1,
    };
    hooks.get(hook)?.push(attempt);
    payloads.set(event.guid, event);
    return attempt;
  }

  const send = (res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}) => {
    res.writeHead(status, { 'content-type': 'application/json', ...headers });
    res.end(JSON.stringify(body));
  };

  function handle(req: IncomingMessage, res: ServerResponse) {
    const url = new URL(req.url ?? '/', 'http://fake');
    const [, hook = '', attemptOf] = HOOK_PATH.exec(url.pathname) ?? [];
    if (req.headers.authorization !== `Bearer ${token}`)
      return send(res, 401, { message: 'Bad credentials' });
    if (!hooks.has(hook)) return send(res, 404, { message: 'Not Found' });
    if (settings.rateLimited > 0) {
      settings.rateLimited--;
      const reset = String(Math.ceil(Date.now() / 1000) + 1);
      if (!attemptOf)
        listCalls.push({ hook, cursor: url.searchParams.get('cursor'), status: settings.rateLimitStatus });
      return send(
        res,
        settings.rateLimitStatus,
        { message: 'API rate limit exceeded' },
        {
          'x-ratelimit-remaining': '0',
          'x-ratelimit-reset': reset,
        },
      );
    }
    const attempts = hooks.get(hook) ?? [];
    if (req.method === 'POST' && attemptOf) {
      const original = attempts.find((a) => a.id === Number(attemptOf));
      if (!original) return send(res, 404, { message: 'Not Found' });
      if (Date.now() - Date.parse(original.delivered_at) > REDELIVERY_DAYS * 86_400_000)
        return send(res, 422, { message: 'Redelivery is only possible for deliveries of the past 3 days' });
      redeliveries.push({ hook, id: original.id, guid: original.guid });
      const event = payloads.get(original.guid) as GithubEvent;
      const done = deliver(event)
        .catch(() => 0)
        .then((status) => {
          record(hook, event, status, Date.now(), true);
        });
      inFlight.add(done);
      void done.finally(() => inFlight.delete(done));
      return send(res, 202, {});
    }
    if (req.method !== 'GET' || attemptOf) return send(res, 404, { message: 'Not Found' });
    const cursor = url.searchParams.get('cursor');
    const perPage = Math.min(settings.pageSize, Number(url.searchParams.get('per_page') ?? 30));
    const newestFirst = [...attempts].sort((a, b) => b.id - a.id);
    const after = cursor ? newestFirst.findIndex((a) => a.id === Number(cursor.replace('v1_', ''))) + 1 : 0;
    const page = newestFirst.slice(after, after + perPage);
    const last = page.at(-1);
    const more = after + perPage < newestFirst.length && last;
    const next = `<http://${req.headers.host}/${hook}/deliveries?per_page=${perPage}&cursor=v1_${last?.id}>; rel="next"`;
    listCalls.push({ hook, cursor, status: 200 });
    return send(res, 200, page, more ? { link: next } : {});
  }

  const server = createServer((req, res) => {
    req.resume();
    req.on('end', () => handle(req, res));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    settings,
    listCalls,
    /** Every redelivery asked for. */
    redeliveries,
    attempts: (hook: string) => hooks.get(hook) ?? [],
    addHook(hook: string) {
      hooks.set(hook, []);
    },
    /** An attempt GitHub made (`statusCode` 0: no answer) at `at` (ms), listed from then on. */
    addAttempt(hook: string, event: GithubEvent, statusCode: number, at = Date.now()) {
      return record(hook, event, statusCode, at, false);
    },
    /** The next `n` calls are refused for the rate limit (429, or 403 with no requests left). */
    rateLimit(n: number, status: 403 | 429 = 429) {
      settings.rateLimited = n;
      settings.rateLimitStatus = status;
    },
    /** Resolves once every redelivery asked for so far was delivered. */
    settled: () => Promise.all([...inFlight]),
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

export type FakeGithub = Awaited<ReturnType<typeof startFakeGithub>>;
