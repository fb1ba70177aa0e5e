import { createPublicKey, type KeyObject, verify as verifySignature } from 'node:crypto';
import { ConfigError, DAY_SECONDS } from '@oncehook/shared';
import { Webhook } from 'standardwebhooks';
import { checkEventId, parseJsonObject } from './json-body.ts';
import { badSignature, parseUnixSeconds, safeEqual, utf8Text, withinTolerance } from './signing.ts';
import type { ProviderModule } from './types.ts';

/**
 * Standard Webhooks (what Svix and many platforms send): `webhook-id`, `webhook-timestamp` and
 * `webhook-signature`, a space-separated list of `v1,<base64 HMAC-SHA256>` (secret `whsec_…`)
 * and/or `v1a,<base64 ed25519>` (public key `whpk_…`), all over `<id>.<timestamp>.<body>`.
 * Several signatures are sent during the sender's own key rotation; any one valid is enough.
 *
 * v1 is computed by the `standardwebhooks` library's `sign`; its `verify` is not used because it
 * reads `Date.now()` and cannot take our clock. v1a is not in the reference libraries yet, so it
 * is checked with Node's ed25519 against the keys in STANDARD_WEBHOOK_PUBLIC_KEY.
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
      configured('STANDARD_WEBHOOK_SECRET', () => new Webhook(s)),
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
        const list = headers.get('webhook-signature') ?? '';
        // A `.` in the id would make `<id>.<timestamp>.<body>` ambiguous; the spec forbids it.
        if (!id || id.includes('.') || timestamp === null || !withinTolerance(timestamp, nowMs)) {
          return refused;
        }
        const body = utf8Text(rawBody);
        if (!body.ok) return refused;

        const signedContent = () => Buffer.from(`${id}.${timestamp}.${body.text}`, 'utf8');
        const signed = list.split(' ').some((entry) => {
          const comma = entry.indexOf(',');
          const [version, sig] = [entry.slice(0, comma), entry.slice(comma + 1)];
          if (comma < 0 || !BASE64.test(sig)) return false;
          const given = Buffer.from(sig, 'base64');
          if (version === 'v1') {
            return secrets.some((wh) => {
              const expected = wh.sign(id, new Date(timestamp * 1000), body.text).slice('v1,'.length);
              return safeEqual(Buffer.from(expected, 'base64'), given);
            });
          }
          if (version === 'v1a' && given.length === 64) {
            return publicKeys.some((key) => verifySignature(null, signedContent(), key, given));
          }
          return false;
        });
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
