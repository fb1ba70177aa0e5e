import { createHash } from 'node:crypto';
import { HOUR_SECONDS } from '@oncehook/shared';
import { FORM_TYPE, type FormFields, field, formJson, parseForm } from '../verify/form-body.ts';
import { checkEventId, JSON_TYPE } from '../verify/json-body.ts';
import { badSignature, hmac, safeEqual, utf8Text } from '../verify/signing.ts';
import { bodySha256Of, signedUrlCandidates } from '../verify/twilio-url.ts';
import { defineProvider, type Refusal, refuse } from '../verify/types.ts';

/**
 * Twilio: `X-Twilio-Signature: <base64 HMAC-SHA1>` keyed with the account's Auth Token, over the
 * full URL Twilio requested followed by every POST parameter, sorted by name, as `<name><value>`
 * with no separators. JSON webhooks sign the URL alone, and it carries the body's SHA-256 as
 * `bodySHA256`. The URL is the one configured in Twilio: behind a proxy set PUBLIC_URL. Like
 * Twilio's own `validateRequest`, the URL is tried without and with its port (Twilio's back ends
 * differ) and as `new URL()` normalises it (twilio-url.ts): usually two MACs per configured token,
 * at most six. Webhooks signed with a SharedKey say `algorithm=HMAC_SHA256` in
 * `X-Twilio-Webhooks-Signature-Settings`.
 *
 * The event id is `I-Twilio-Idempotency-Token`, the same on Twilio's retries but outside the
 * signature (so a capture re-sent under a new token is recognised by its signature); without it,
 * the signed `MessageSid` or `CallSid` with its status: one status callback per status. Twilio
 * signs no timestamp.
 *
 * Twilio reads the answer as TwiML: an empty `<Response/>` does nothing (no reply message), which
 * suits status callbacks and incoming messages; a voice call needs its TwiML from elsewhere.
 */
const SIGNATURE = 'x-twilio-signature';
const SETTINGS = 'x-twilio-webhooks-signature-settings';
const TOKEN = 'i-twilio-idempotency-token';
const BASE64_OF = { sha1: /^[A-Za-z0-9+/]{27}=$/, sha256: /^[A-Za-z0-9+/]{43}=$/ };
const TWIML = {
  body: '<?xml version="1.0" encoding="UTF-8"?><Response></Response>',
  contentType: 'text/xml; charset=utf-8',
};

export const twilio = defineProvider({
  name: 'twilio',
  secretEnv: ['TWILIO_AUTH_TOKEN'],
  window: {
    seconds: HOUR_SECONDS,
    source:
      'retries on connection failures, at most 5 (`#rc=`), all within at most 15 s (`#tt=`) ([connection overrides](https://www.twilio.com/docs/usage/webhooks/webhooks-connection-overrides))',
  },
  timestamped: false,
  create(env) {
    const tokens = env.secrets.get('TWILIO_AUTH_TOKEN');
    if (!tokens) return null;
    const refused = badSignature('X-Twilio-Signature');
    return {
      acceptsForm: true,
      verify({ rawBody, headers, url }) {
        const contentType = headers.get('content-type') ?? '';
        const form = FORM_TYPE.test(contentType);
        if (!form && !JSON_TYPE.test(contentType)) {
          return refuse(
            'unsupported_media_type',
            'Twilio posts form-encoded parameters, or JSON with bodySHA256 in the URL.',
          );
        }
        const algorithm = algorithmOf(headers.get(SETTINGS));
        const given = headers.get(SIGNATURE)?.trim() ?? '';
        if (!algorithm || !BASE64_OF[algorithm].test(given)) return refused;
        const content = form ? formContent(rawBody) : jsonContent(rawBody, url);
        if (!content.ok) return content.refusal ?? refused;
        const givenBytes = Buffer.from(given, 'base64');
        // Accept if ANY configured token matches: during a rotation (secondary token) both are live.
        const urls = signedUrlCandidates(url);
        const signed = tokens.some((token) =>
          urls.some((candidate) => safeEqual(hmac(algorithm, token, candidate, content.data), givenBytes)),
        );
        if (!signed) return refused;

        const { fields } = content;
        const token = headers.get(TOKEN);
        const sid = field(fields, 'MessageSid') ?? field(fields, 'SmsSid') ?? field(fields, 'CallSid');
        const status =
          field(fields, 'MessageStatus') ?? field(fields, 'SmsStatus') ?? field(fields, 'CallStatus');
        const id = token || (sid && status ? `${sid}:${status}` : sid);
        const bad = checkEventId(id, token ? 'I-Twilio-Idempotency-Token' : 'MessageSid or CallSid');
        if (bad) return bad;
        const kind =
          fields.has('CallSid') && !fields.has('MessageSid') ? 'call' : sid ? 'message' : 'unknown';
        const type = status && kind !== 'unknown' ? `${kind}.${status}` : kind;
        return {
          ok: true,
          event: {
            id: id as string,
            type,
            ...(form ? { payload: formJson(fields) } : {}),
            answer: TWIML,
            // Endless byte strings carry one set of signed parameters (order, %-escapes, repeats):
            // a capture is known by its signature, which one signed content determines. The
            // padding bits base64 ignores are not part of it: the decoded bytes are.
            ...(token
              ? { idUnsigned: true, captureKey: `${algorithm}:${givenBytes.toString('base64')}` }
              : {}),
          },
        };
      },
    };
  },
});

type SignedContent =
  | { ok: true; data: string; fields: FormFields }
  /** Without a refusal of its own: one answer for every signature failure. */
  | { ok: false; refusal?: Refusal };

/** A form body: every parameter is signed (after the URL), decoded and sorted. */
function formContent(rawBody: Buffer): SignedContent {
  const form = parseForm(rawBody);
  if (!form.ok) return { ok: false };
  return { ok: true, data: signedParameters(form.fields), fields: form.fields };
}

/**
 * A JSON body: only the URL is signed, and it carries the body's SHA-256 (hex) as `bodySHA256`,
 * as twilio-node's `validateRequestWithBody` checks. A JSON object's string and number fields are
 * read like form parameters (the sid and status name the event).
 */
function jsonContent(rawBody: Buffer, url: string): SignedContent {
  const expected = bodySha256Of(url);
  const actual = createHash('sha256').update(rawBody).digest('hex');
  if (!expected || !safeEqual(Buffer.from(expected), Buffer.from(actual))) return { ok: false };
  const text = utf8Text(rawBody);
  if (!text.ok) return { ok: false, refusal: text };
  let value: unknown;
  try {
    value = JSON.parse(text.text);
  } catch {
    return { ok: false, refusal: refuse('invalid_json', 'The request body is not valid JSON.') };
  }
  const fields: FormFields = new Map();
  if (typeof value === 'object' && value !== null && !Array.isArray(value)) {
    for (const [name, v] of Object.entries(value)) {
      if (typeof v === 'string' || typeof v === 'number') fields.set(name, [String(v)]);
    }
  }
  return { ok: true, data: '', fields };
}

/** Every parameter as `<name><value>`, names sorted, repeated values once each and sorted (Twilio's library). */
function signedParameters(fields: FormFields): string {
  let data = '';
  for (const name of [...fields.keys()].sort()) {
    for (const value of [...new Set(fields.get(name))].sort()) data += name + value;
  }
  return data;
}

/** HMAC_SHA1 unless the settings header names another; null for one we do not know. */
function algorithmOf(settings: string | null): 'sha1' | 'sha256' | null {
  const named = /(?:^|,)\s*algorithm=([^,]*)/
    .exec(settings ?? '')?.[1]
    ?.trim()
    .toUpperCase();
  if (!named || named === 'HMAC_SHA1') return 'sha1';
  return named === 'HMAC_SHA256' ? 'sha256' : null;
}
