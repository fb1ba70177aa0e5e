import { type Context, Hono } from 'hono';
import { type AcceptDeps, acceptEvent } from '../accept.ts';
import { ApiError } from '../errors.ts';
import type { Metrics } from '../metrics.ts';
import { ClientGone, headersOf, readBody, requestUrl } from '../request-body.ts';
import { FORM_TYPE } from '../verify/form-body.ts';
import { checkEventType, JSON_TYPE } from '../verify/json-body.ts';
import type { Provider, RawAnswer, WebhookRequest } from '../verify/types.ts';

export interface WebhookDeps extends AcceptDeps {
  /** `unserved`: known sources without their secret, to say which variable serves them. */
  providers: Map<string, Provider> & { unserved?: Map<string, string> };
  maxBodyBytes: number;
  metrics: Metrics;
  /** PUBLIC_URL: the base of the URL senders address, for URL-signing schemes. */
  publicUrl?: string;
  now?: () => number;
}

/** POST /webhooks/:source and POST /webhook (the demo source): verify -> dedupe + enqueue -> 200. */
export function webhookRoutes(deps: WebhookDeps) {
  const app = new Hono();

  const receive = (source: string) => async (c: Context) => {
    const provider = deps.providers.get(source);
    if (!provider) {
      const missing = deps.providers.unserved?.get(source);
      const fix = missing ? `: its secret is not set (${missing})` : '';
      throw new ApiError('unknown_source', `No webhook source named "${source}" is configured${fix}.`);
    }
    const started = performance.now();
    try {
      const headers = headersOf(c);
      const contentType = headers.get('content-type') ?? '';
      const form = provider.acceptsForm && FORM_TYPE.test(contentType);
      if (!JSON_TYPE.test(contentType) && !form) {
        throw new ApiError('unsupported_media_type', 'Content-Type must be application/json.');
      }
      const rawBody = await readBody(c, deps.maxBodyBytes);
      const request: WebhookRequest = {
        rawBody,
        headers,
        method: c.req.method,
        nowMs: deps.now?.() ?? Date.now(),
        // Built only for the schemes that sign it.
        get url() {
          return requestUrl(c, deps.publicUrl);
        },
      };
      const verified = await provider.verify(request);
      if (!verified.ok) throw new ApiError(verified.reason, verified.message);
      if ('reply' in verified) return c.json(verified.reply);
      if ('answer' in verified) return answer(c, verified.answer);
      const badType = checkEventType(verified.event.type);
      if (badType) throw new ApiError(badType.reason, badType.message);

      const accepted = await acceptEvent(deps, {
        ...verified.event,
        source,
        eventId: verified.event.id,
        rawBody,
        contentType,
        ttlSeconds: provider.dedupeTtlSeconds,
      });
      const outcome = accepted.copy ? 'copy' : accepted.duplicate ? 'duplicate' : 'accepted';
      deps.metrics.delivered(source, outcome);
      if (accepted.conflict) deps.metrics.conflicts.inc({ source });
      if (verified.event.answer) return answer(c, verified.event.answer);
      return c.json({ received: true, duplicate: accepted.duplicate });
    } catch (err) {
      // The client went away mid-body: nothing was stored, nobody reads an answer. Counted, and
      // logged at debug only: thousands of them are a client's problem, not an incident.
      if (err instanceof ClientGone) {
        deps.metrics.delivered(source, 'aborted');
        deps.log.debug({ source }, 'client went away before the whole request arrived');
        throw new ApiError('bad_request', 'The request was cut off before its end.');
      }
      const outcome = err instanceof ApiError && err.status === 503 ? 'unavailable' : 'refused';
      deps.metrics.delivered(source, outcome);
      throw err;
    } finally {
      deps.metrics.took(source, (performance.now() - started) / 1000);
    }
  };

  app.post('/webhook', (c) => receive('demo')(c));
  app.post('/webhooks/:source', (c) => receive(c.req.param('source'))(c));
  return app;
}

const answer = (c: Context, { body, contentType }: RawAnswer) =>
  body ? c.body(body, 200, { 'content-type': contentType }) : c.body(null, 200);
