import { verify as verifySignature } from 'node:crypto';
import { DAY_SECONDS } from '@oncehook/shared';
import { checkEventId, parseJsonObject } from './json-body.ts';
import { BASE64, configured, ed25519PublicKey, symmetricKey } from './secret-keys.ts';
import {
  badSignature,
  hmac,
  MAX_SIGNATURE_ENTRIES,
  parseUnixSeconds,
  safeEqual,
  utf8Text,
  withinTolerance,
} from './signing.ts';
import { defineProvider } from './types.ts';

/**
 * Standard Webhooks (what Svix and many platforms send): an id, a timestamp and a space-separated
 * list of `v1,<base64 HMAC-SHA256>` (secret `whsec_…`) and/or `v1a,<base64 ed25519>` (public key
 * `whpk_…`), all over `<id>.<timestamp>.<body>`. Several signatures are sent during the sender's
 * own key rotation; any one valid is enough.
 *
 * The headers come in two brands: `webhook-id`/`-timestamp`/`-signature` (the spec) and
 * `svix-id`/`-timestamp`/`-signature` (what Svix, and Clerk, Resend… sending through it, put on
 * the wire by default). Each is read as Svix's own library reads it: the `svix-` one if present,
 * else the `webhook-` one.
 *
 * The expected v1 MAC is computed once per configured secret and compared with every entry, so a
 * delivery costs one pass over the body per secret however many entries its header carries; at
 * most MAX_SIGNATURE_ENTRIES entries are looked at. v1a (ed25519, not in the reference libraries
 * yet) is checked with Node's crypto, at most once per key and entry among those few.
 *
 * The id is signed, and stays the same across retries.
 */
export function standardWebhooksSource<const Name extends string>(spec: {
  name: Name;
  secretVariable: string;
  publicKeyVariable: string;
  /** The brand its signer puts on the wire. */
  brand: 'webhook' | 'svix';
}) {
  const { secretVariable, publicKeyVariable, brand } = spec;
  return defineProvider({
    name: spec.name,
    secretEnv: [secretVariable, publicKeyVariable],
    window: {
      seconds: 7 * DAY_SECONDS,
      source:
        "Svix: immediately, 5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 10 h, ≈ 28 h in all ([retries](https://docs.svix.com/retries)); the spec's example schedule spans ≈ 76 h ([spec](https://github.com/standard-webhooks/standard-webhooks/blob/main/spec/standard-webhooks.md)); 7 days covers both",
    },
    timestamped: true,
    create(env) {
      const secrets = (env.secrets.get(secretVariable) ?? []).map((s) =>
        configured(secretVariable, () => symmetricKey(s)),
      );
      const publicKeys = (env.secrets.get(publicKeyVariable) ?? []).map((k) =>
        configured(publicKeyVariable, () => ed25519PublicKey(k)),
      );
      if (secrets.length === 0 && publicKeys.length === 0) return null;
      const refused = badSignature(`${brand}-signature or ${brand}-timestamp`);
      // Svix's rule: the branded header wins, the unbranded one is the fallback.
      const header = (headers: { get(name: string): string | null }, part: string) =>
        headers.get(`svix-${part}`) ?? headers.get(`webhook-${part}`);

      return {
        verify({ rawBody, headers, nowMs }) {
          const id = header(headers, 'id') ?? '';
          const timestamp = parseUnixSeconds(header(headers, 'timestamp')?.trim());
          // A `.` in the id would make `<id>.<timestamp>.<body>` ambiguous; the spec forbids it.
          if (!id || id.includes('.') || timestamp === null || !withinTolerance(timestamp, nowMs)) {
            return refused;
          }
          if (!utf8Text(rawBody).ok) return refused;
          const entries = (header(headers, 'signature') ?? '').split(' ').slice(0, MAX_SIGNATURE_ENTRIES);
          // The entries `<version>,<base64>` of one version, decoded.
          const signatures = (version: string) =>
            entries
              .filter((entry) => entry.startsWith(`${version},`))
              .map((entry) => entry.slice(version.length + 1))
              .filter((sig) => BASE64.test(sig))
              .map((sig) => Buffer.from(sig, 'base64'));
          const prefix = `${id}.${timestamp}.`;
          const v1 = signatures('v1');
          const v1a = signatures('v1a').filter((given) => given.length === 64);
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
          const bad = checkEventId(id, `${brand}-id`);
          if (bad) return bad;
          const type = typeof event.value.type === 'string' ? event.value.type : 'unknown';
          return { ok: true, event: { id, type } };
        },
      };
    },
  });
}
