import { verifyWithFallback } from '@octokit/webhooks-methods';
import { DAY_SECONDS, type OrderingKey, orderingKey } from '@oncehook/shared';
import { FORM_TYPE } from '../verify/form-body.ts';
import { checkEventId, parseJsonObject } from '../verify/json-body.ts';
import { badSignature, utf8Text } from '../verify/signing.ts';
import { defineProvider, refuse } from '../verify/types.ts';

/**
 * GitHub: `X-Hub-Signature-256: sha256=<hex HMAC of the body>`, checked by
 * `@octokit/webhooks-methods`. The event id is `X-GitHub-Delivery`, which GitHub keeps on
 * redeliveries (it identifies the event, not the attempt) — but it is a header the signature does
 * not cover, so the ingest also dedupes on the signed body (`idUnsigned`).
 *
 * Content type: GitHub offers `application/json` and `application/x-www-form-urlencoded` (the
 * API's default), where the JSON travels as the `payload` form field. Both are accepted; the
 * signature is checked on the raw form body and the JSON inside it is what gets stored.
 */
const SIGNATURE = 'x-hub-signature-256';
const SHA256_HEX = /^sha256=[0-9a-f]{64}$/i;

export const github = defineProvider({
  name: 'github',
  secretEnv: ['GITHUB_WEBHOOK_SECRET'],
  window: {
    seconds: 7 * DAY_SECONDS,
    source:
      'no automatic retries ([failed deliveries](https://docs.github.com/en/webhooks/using-webhooks/handling-failed-webhook-deliveries)); redelivery by hand or through the API of deliveries "from the past 3 days", 7 on GitHub Enterprise Server ([redelivering](https://docs.github.com/en/webhooks/testing-and-troubleshooting-webhooks/redelivering-webhooks))',
  },
  timestamped: false,
  create(env) {
    const [first, ...others] = env.secrets.get('GITHUB_WEBHOOK_SECRET') ?? [];
    if (!first) return null;
    const refused = badSignature('X-Hub-Signature-256');
    return {
      acceptsForm: true,
      async verify({ rawBody, headers }) {
        const signature = headers.get(SIGNATURE)?.trim();
        // One `sha256=<64 hex>` or nothing: anything else is refused before any MAC is computed.
        if (!signature || !SHA256_HEX.test(signature) || rawBody.length === 0) return refused;
        const body = utf8Text(rawBody);
        if (!body.ok) return refused;
        // Accept if ANY configured secret matches: during a rotation both are live.
        const signed = await verifyWithFallback(first, body.text, signature, others).catch(() => false);
        if (!signed) return refused;

        const isForm = FORM_TYPE.test(headers.get('content-type') ?? '');
        const json = isForm ? new URLSearchParams(body.text).get('payload') : body.text;
        if (json === null) return refuse('missing_payload', 'The form body has no payload field.');
        const event = parseJsonObject(Buffer.from(json, 'utf8'));
        if (!event.ok) return event;

        const id = headers.get('x-github-delivery');
        const bad = checkEventId(id, 'X-GitHub-Delivery');
        if (bad) return bad;
        const name = headers.get('x-github-event') || 'unknown';
        const action = event.value.action;
        const type = typeof action === 'string' && action ? `${name}.${action}` : name;
        return {
          ok: true,
          event: {
            id: id as string,
            type,
            idUnsigned: true,
            ...(isForm ? { payload: json } : {}),
            order: githubOrdering(name, event.value),
          },
        };
      },
    };
  },
});

/**
 * The repository an event is about (`push`: the repository and the ref, so that two branches do
 * not wait for each other). GitHub sends no creation time: ordered by arrival.
 */
export function githubOrdering(event: string, body: Record<string, unknown>): OrderingKey | undefined {
  const repo = orderingKey((body.repository as { full_name?: unknown } | undefined)?.full_name);
  if (!repo) return undefined;
  const ref = event === 'push' ? orderingKey(body.ref) : undefined;
  return { key: ref ? `${repo}:${ref}` : repo };
}
