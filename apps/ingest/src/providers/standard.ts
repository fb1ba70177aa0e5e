import { createPublicKey, type KeyObject, verify as verifySignature } from 'node:crypto';
import { ConfigError, DAY_SECONDS } from '@oncehook/shared';
import { checkEventId, parseJsonObject } from './json-body.ts';
import {
  badSignature,
  hmac,
  MAX_SIGNATURE_ENTRIES,
  parseUnixSeconds,
  safeEqual,
  utf8Text,
  withinTolerance,
} from './signing.ts';
import type { ProviderModule } from './types.ts';

/**
 * Standard Webhooks (what Svix and many platforms send): `webhook-id`, `webhook-timestamp` and
 * `webhook-signature`, a space-separated list of `v1,<base64 HMAC-SHA256>` (secret `whsec_…`)
 * and/or `v1a,<base64 ed25519>` (public key `whpk_…`), all over `<id>.<timestamp>.<body>`.
 * Several signatures are sent during the sender's own key rotation; any one valid is enough.
 *
 * The expected v1 MAC is computed once per configured secret and compared with every entry, so a
 * delivery costs one pass over the body per secret however many entries its header carries; at
 * most MAX_SIGNATURE_ENTRIES entries are looked at. v1a (ed25519, not in the reference libraries
 * yet) is checked with Node's crypto, at most once per key and entry among those few.
 *
 * `webhook-id` is signed, and stays the same across retries. Window: Svix retries for about 28
 * hours, the spec's example schedule spans about 3 days; 7 days by default, like the rest.
 */
const BASE64 = /^[A-Za-z0-9+/]+={0,2}$/;

export const standard: ProviderModule = {
  secretEnv: ['STANDARD_WEBHOOK_SECRET', 'STANDARD_WEBHOOK_PUBLIC_KEY'],
  windowSeconds: 7 * DAY_SECONDS,
  create(env) {
    const secrets = (env.secrets.get('STANDARD_WEBHOOK_SECRET') ?? []).map((s) =>
      configured('STANDARD_WEBHOOK_SECRET', () => symmetricKey(s)),
    );
    const publicKeys = (env.secrets.get('STANDARD_WEBHOOK_PUBLIC_KEY') ?? []).map((k) =>
      configured('STANDARD_WEBHOOK_PUBLIC_KEY', () => ed25519PublicKey(k)),
    );
    if (secrets.length === 0 && publicKeys.length === 0) return null;
    const refused = badSignature('webhook-signature or webhook-timestamp');

    return {
      verify({ rawBody, headers, nowMs }) {
        const id = headers.get('webhook-id') ?? '';
        const timestamp = parseUnixSeconds(headers.get('webhook-timestamp')?.trim());
        // A `.` in the id would make `<id>.<timestamp>.<body>` ambiguous; the spec forbids it.
        if (!id || id.includes('.') || timestamp === null || !withinTolerance(timestamp, nowMs)) {
          return refused;
        }
        if (!utf8Text(rawBody).ok) return refused;
        const entries = (headers.get('webhook-signature') ?? '')
          .split(' ')
          .slice(0, MAX_SIGNATURE_ENTRIES)
          .map((entry) => {
            const comma = entry.indexOf(',');
            const sig = entry.slice(comma + 1);
            return { version: comma < 0 ? '' : entry.slice(0, comma), sig };
          })
          .filter((e) => BASE64.test(e.sig))
          .map((e) => ({ version: e.version, given: Buffer.from(e.sig, 'base64') }));

        const prefix = `${id}.${timestamp}.`;
        const v1 = entries.filter((e) => e.version === 'v1').map((e) => e.given);
        const v1a = entries.filter((e) => e.version === 'v1a' && e.given.length === 64).map((e) => e.given);
        // Each secret's MAC once, only if some v1 entry could match it.
        const signed =
          (v1.length > 0 &&
            secrets.some((key) => {
              const expected = hmac('sha256', key, prefix, rawBody);
              return v1.some((given) => safeEqual(expected, given));
            })) ||
          (v1a.length > 0 &&
            publicKeys.some((key) => {
              const content = Buffer.concat([Buffer.from(prefix), rawBody]);
              return v1a.some((given) => verifySignature(null, content, key, given));
            }));
        if (!signed) return refused;

        const event = parseJsonObject(rawBody);
        if (!event.ok) return event;
        const bad = checkEventId(id, 'webhook-id');
        if (bad) return bad;
        const type = typeof event.value.type === 'string' ? event.value.type : 'unknown';
        return { ok: true, event: { id, type } };
      },
    };
  },
};

/** `whsec_<base64>`, as the spec serialises symmetric secrets (the prefix is optional). */
function symmetricKey(serialised: string): Buffer {
  const encoded = serialised.replace(/^whsec_/, '');
  const key = Buffer.from(encoded, 'base64');
  if (!BASE64.test(encoded) || key.length === 0) throw new Error('must be whsec_ followed by base64');
  return key;
}

/** `whpk_<base64 of the raw 32-byte key>`, as the spec serialises ed25519 public keys. */
function ed25519PublicKey(serialised: string): KeyObject {
  const raw = Buffer.from(serialised.replace(/^whpk_/, ''), 'base64');
  if (raw.length !== 32) throw new Error('must be whpk_ followed by the base64 of a 32-byte ed25519 key');
  return createPublicKey({
    key: { kty: 'OKP', crv: 'Ed25519', x: raw.toString('base64url') },
    format: 'jwk',
  });
}

function configured<T>(variable: string, make: () => T): T {
  try {
    return make();
  } catch (err) {
    throw new ConfigError([`${variable}: ${(err as Error).message}`]);
  }
}
