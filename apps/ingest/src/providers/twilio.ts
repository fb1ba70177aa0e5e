import { createHmac } from 'node:crypto';
import { HOUR_SECONDS } from '@oncehook/shared';
import { formWith } from './examples.ts';
import { FORM_TYPE, type FormFields, field, formJson, parseForm } from './form-body.ts';
import { checkEventId } from './json-body.ts';
import { badSignature, hmac, safeEqual } from './signing.ts';
import { defineProvider, refuse } from './types.ts';

/**
 * Twilio: `X-Twilio-Signature: <base64 HMAC-SHA1>` keyed with the account's Auth Token, over the
 * full URL Twilio requested followed by every POST parameter, sorted by name, as `<name><value>`
 * with no separators. The URL is the one configured in Twilio: behind a proxy set PUBLIC_URL. Like
 * Twilio's own `validateRequest`, the URL is tried without and with its port (Twilio's back ends
 * differ), so a delivery costs at most two MACs per configured token. Webhooks signed with a
 * SharedKey say `algorithm=HMAC_SHA256` in `X-Twilio-Webhooks-Signature-Settings`.
 *
 * The event id is `I-Twilio-Idempotency-Token`, the same on Twilio's retries but outside the
 * signature (so the signed parameters are deduped too); without it, the signed `MessageSid` or
 * `CallSid` with its status: one status callback per status. Twilio signs no timestamp.
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
  docs: {
    title: 'Twilio',
    configure:
      'phone number or messaging service → webhook / status callback URL, HTTP POST; Account → Auth Token → `TWILIO_AUTH_TOKEN`',
    requiredHeaders: ['X-Twilio-Signature'],
    otherHeaders: [
      '`I-Twilio-Idempotency-Token`',
      '`X-Twilio-Webhooks-Signature-Settings` (`algorithm=HMAC_SHA256`)',
    ],
    eventId:
      '`I-Twilio-Idempotency-Token` (kept on retries; not signed, so the signed parameters are deduped too), else `MessageSid`/`CallSid` + its status (signed)',
    refused:
      'a body that is not form-encoded (415); an unknown signature algorithm; neither token nor `MessageSid`/`CallSid` (422)',
  },
  example: {
    fixture: 'twilio-message-status.form',
    type: 'message.delivered',
    contentType: 'application/x-www-form-urlencoded',
    secret: (label) => `${label}-twilio-auth-token`,
    nth: (fixture, n) => ({
      body: formWith(fixture, 'MessageSid', `SM${String(n).padStart(32, '0')}`),
      id: `idem-example-${n}`,
    }),
  },
  async sign({ body, secret, id, url }) {
    const target = url ?? 'http://localhost/webhooks/twilio';
    const fields = parseForm(Buffer.from(body));
    const data = fields.ok ? signedParameters(fields.fields) : '';
    return {
      'content-type': 'application/x-www-form-urlencoded',
      [SIGNATURE]: createHmac('sha1', secret)
        .update(target + data, 'utf8')
        .digest('base64'),
      [TOKEN]: id,
    };
  },
  create(env) {
    const tokens = env.secrets.get('TWILIO_AUTH_TOKEN');
    if (!tokens) return null;
    const refused = badSignature('X-Twilio-Signature');
    return {
      acceptsForm: true,
      verify({ rawBody, headers, url }) {
        if (!FORM_TYPE.test(headers.get('content-type') ?? '')) {
          return refuse('unsupported_media_type', 'Twilio posts form-encoded parameters.');
        }
        const algorithm = algorithmOf(headers.get(SETTINGS));
        const given = headers.get(SIGNATURE)?.trim() ?? '';
        if (!algorithm || !BASE64_OF[algorithm].test(given)) return refused;
        const form = parseForm(rawBody);
        if (!form.ok) return refused;
        const data = signedParameters(form.fields);
        const givenBytes = Buffer.from(given, 'base64');
        // Accept if ANY configured token matches: during a rotation (secondary token) both are live.
        const urls = urlWithAndWithoutPort(url);
        const signed = tokens.some((token) =>
          urls.some((candidate) => safeEqual(hmac(algorithm, token, candidate, data), givenBytes)),
        );
        if (!signed) return refused;

        const { fields } = form;
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
            payload: formJson(fields),
            answer: TWIML,
            ...(token ? { idUnsigned: true } : {}),
          },
        };
      },
    };
  },
});

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

/** The URL as received without its port, and with it (the scheme's default when it has none). */
function urlWithAndWithoutPort(url: string): string[] {
  const parts = /^([a-z][a-z0-9+.-]*:\/\/)([^/?#]*)(.*)$/is.exec(url);
  if (!parts) return [url];
  const [, scheme = '', authority = '', rest = ''] = parts;
  const userInfo = authority.slice(0, authority.lastIndexOf('@') + 1);
  const hostPort = authority.slice(userInfo.length);
  // A colon starts the port only after an IPv6 literal's closing bracket.
  const colon = hostPort.indexOf(':', hostPort.lastIndexOf(']') + 1);
  const host = colon < 0 ? hostPort : hostPort.slice(0, colon);
  const port = colon < 0 ? (scheme.toLowerCase() === 'https://' ? ':443' : ':80') : hostPort.slice(colon);
  return [scheme + userInfo + host + rest, scheme + userInfo + host + port + rest];
}
