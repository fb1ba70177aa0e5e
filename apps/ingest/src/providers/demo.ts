import { DAY_SECONDS } from '@oncehook/shared';
import { checkEventId, parseJsonObject } from '../verify/json-body.ts';
import { hmac, safeEqual } from '../verify/signing.ts';
import { defineProvider, refuse } from '../verify/types.ts';

/**
 * The `demo` source: the seed's body `{ event_id, type, amount, currency, ... }`.
 *
 * Unsigned for a first try, which is why it is safe by default: with NODE_ENV=production it is
 * not served at all (404) unless DEMO_WEBHOOK_SECRET is set, and then
 * `X-Oncehook-Signature: sha256=<hex HMAC of the body>` is required (any of the comma-separated
 * secrets, so one can be rotated). Unsigned, the ingest says at start-up that /webhook must not
 * face the internet: anyone could cause a charge and a receipt through it.
 */
export const SIGNATURE_HEADER = 'x-oncehook-signature';

export const demo = defineProvider({
  name: 'demo',
  secretEnv: ['DEMO_WEBHOOK_SECRET'],
  window: {
    seconds: DAY_SECONDS,
    source: "oncehook's own example source: no provider retries it; a day covers a client re-sending by hand",
  },
  timestamped: false,
  create(env) {
    const secrets = env.secrets.get('DEMO_WEBHOOK_SECRET') ?? [];
    if (secrets.length === 0 && env.NODE_ENV === 'production') return null;
    return {
      verify({ rawBody, headers }) {
        if (secrets.length > 0 && !signedByAny(rawBody, headers.get(SIGNATURE_HEADER), secrets)) {
          return refuse('invalid_signature', `Missing or invalid ${SIGNATURE_HEADER} header.`);
        }
        const body = parseJsonObject(rawBody);
        if (!body.ok) return body;
        const bad = checkEventId(body.value.event_id, 'event_id');
        if (bad) return bad;
        const type = body.value.type;
        if (type !== undefined && typeof type !== 'string') {
          return refuse('invalid_event_type', 'type must be a string.');
        }
        return { ok: true, event: { id: body.value.event_id as string, type: type ?? 'unknown' } };
      },
    };
  },
});

function signedByAny(raw: Buffer, header: string | null, secrets: string[]): boolean {
  const given = /^sha256=([0-9a-f]{64})$/i.exec(header?.trim() ?? '')?.[1];
  if (!given) return false;
  const givenBytes = Buffer.from(given, 'hex');
  // Accept if ANY secret matches: during a rotation both the old and the new one are live.
  return secrets.some((secret) => safeEqual(hmac('sha256', secret, raw), givenBytes));
}
