import { orderingKey, providerTime } from '@oncehook/shared';
import type { IngestEnv } from '../env.ts';
import { checkEventId, parseJsonObject } from '../verify/json-body.ts';
import { configured, symmetricKey } from '../verify/secret-keys.ts';
import { badSignature, hmac, MAX_SIGNATURE_ENTRIES, safeEqual, withinTolerance } from '../verify/signing.ts';
import { refuse, type Verifier } from '../verify/types.ts';
import type { SourceSpec } from './sources-file.ts';

const ENCODED = { hex: /^(?:[0-9a-f]{2})+$/i, base64: /^[A-Za-z0-9+/]+={0,2}$/ };

/** The key bytes of a configured secret; one that does not decode stops the ingest at start-up. */
function secretKey(encoding: SourceSpec['secretEncoding'], value: string): string | Buffer {
  if (encoding === 'text') return value;
  if (encoding === 'whsec') return symmetricKey(value);
  if (!ENCODED[encoding].test(value)) throw new Error(`must be ${encoding}`);
  return Buffer.from(value, encoding);
}

/** The variable a custom source's secret is read from: `secretEnv`, or `<NAME>_WEBHOOK_SECRET`. */
export const customSecretEnv = (name: string, spec: Pick<SourceSpec, 'secretEnv'>) =>
  spec.secretEnv ?? `${name.toUpperCase().replaceAll('-', '_')}_WEBHOOK_SECRET`;

/**
 * A source declared in SOURCES_FILE: HMAC over a template of `{body}`, `{timestamp}` and `{id}`,
 * the event id from a JSON path or a header. Not served (null) while its secret is unset.
 */
export function customVerifier(name: string, spec: SourceSpec, env: IngestEnv): Verifier | null {
  const secretEnv = customSecretEnv(name, spec);
  const configuredSecrets = env.secrets.get(secretEnv);
  if (!configuredSecrets) return null;
  const secrets = configuredSecrets.map((s) =>
    configured(secretEnv, () => secretKey(spec.secretEncoding, s)),
  );

  const sig = spec.signature;
  const refused = badSignature(sig.header);
  const [before, after] = sig.signed.split('{body}') as [string, string];
  // The id is covered by the signature if it is in the body, or its header is in the template;
  // a type from an unsigned header makes a type-qualified id unsigned too.
  const idSigned =
    ('jsonPath' in spec.eventId || sig.signed.includes('{id}')) &&
    (!spec.idIncludesType || (spec.eventType !== undefined && 'jsonPath' in spec.eventType));

  return {
    verify({ rawBody, headers, nowMs }) {
      const header = headers.get(sig.header);
      if (!header) return refused;
      const timestamp = sig.timestamp ? (headers.get(sig.timestamp.header)?.trim() ?? '') : '';
      if (sig.timestamp) {
        if (!/^\d{1,16}$/.test(timestamp)) return refused;
        const seconds = Number(timestamp) / (sig.timestamp.unit === 'ms' ? 1000 : 1);
        if (!withinTolerance(seconds, nowMs, sig.timestamp.toleranceSeconds)) return refused;
      }
      const idHeader = 'header' in spec.eventId ? (headers.get(spec.eventId.header) ?? '') : '';
      const fill = (part: string) => part.replaceAll('{timestamp}', timestamp).replaceAll('{id}', idHeader);
      const candidates = (sig.separator ? header.split(sig.separator) : [header])
        .slice(0, MAX_SIGNATURE_ENTRIES)
        .map((s) => s.trim());
      // Buffer.from skips what it cannot decode, so the format is checked first.
      const given = candidates
        .filter((s) => s.startsWith(sig.prefix))
        .map((s) => s.slice(sig.prefix.length))
        .filter((s) => ENCODED[sig.encoding].test(s))
        .map((s) => Buffer.from(s, sig.encoding));
      // Accept if ANY secret matches ANY signature: rotation on our side or on the sender's.
      // One MAC per secret, compared with each of the (few) candidates.
      const signed =
        given.length > 0 &&
        secrets.some((secret) => {
          const expected = hmac(sig.algorithm, secret, fill(before), rawBody, fill(after));
          return given.some((g) => safeEqual(expected, g));
        });
      if (!signed) return refused;

      const body = parseJsonObject(rawBody);
      if (!body.ok) return body;
      const pick = (where: SourceSpec['eventId']) =>
        'header' in where ? headers.get(where.header) : atPath(body.value, where.jsonPath);
      const id = pick(spec.eventId);
      const type = spec.eventType ? pick(spec.eventType) : undefined;
      if (spec.idIncludesType && !type) {
        return refuse('invalid_event_type', 'This source needs an event type to qualify its ids.');
      }
      const eventId = spec.idIncludesType && type ? `${type}:${id}` : id;
      const bad = checkEventId(id, 'eventId') ?? checkEventId(eventId, 'eventId');
      if (bad) return bad;
      const key = spec.orderingKey ? orderingKey(pick(spec.orderingKey)) : undefined;
      const at = key && spec.orderingTime ? providerTime(timeValue(pick(spec.orderingTime))) : undefined;
      return {
        ok: true,
        event: {
          id: eventId as string,
          type: type || 'unknown',
          ...(idSigned ? {} : { idUnsigned: true }),
          ...(key ? { order: { key, at } } : {}),
        },
      };
    },
  };
}

/** `data.object.id` or `$.data.object.id`; numeric segments index arrays. Strings and integers only. */
function atPath(value: unknown, path: string): string | undefined {
  let at = value;
  for (const key of path.replace(/^\$\./, '').split('.')) {
    if (typeof at !== 'object' || at === null || !Object.hasOwn(at, key)) return undefined;
    at = (at as Record<string, unknown>)[key];
  }
  if (typeof at === 'string') return at;
  if (Number.isSafeInteger(at)) return String(at);
  return undefined;
}

/** A time read as text: digits are unix seconds or ms (providerTime tells them apart), else ISO 8601. */
const timeValue = (text: string | null | undefined) => (text && /^\d+$/.test(text) ? Number(text) : text);
