import { HOUR_SECONDS } from '@oncehook/shared';
import { FORM_TYPE } from '../verify/form-body.ts';
import { checkEventId, parseJsonObject } from '../verify/json-body.ts';
import { badSignature, hmac, parseUnixSeconds, safeEqual, withinTolerance } from '../verify/signing.ts';
import { slackForm } from '../verify/slack-forms.ts';
import { defineProvider, refuse } from '../verify/types.ts';

/**
 * Slack: `X-Slack-Signature: v0=<hex HMAC-SHA256 of "v0:<timestamp>:<body>">` with the app's
 * signing secret, and `X-Slack-Request-Timestamp` within 5 minutes of our clock, on every request
 * Slack sends: Events API callbacks (JSON), and slash commands, interactivity and `ssl_check`
 * (form bodies, slack-forms.ts). Slack's verifier ships inside Bolt (a whole framework), so this
 * one is written from Slack's docs.
 *
 * Events API: `event_id` (signed, in the body) is the dedupe key: Slack's retries (up to 3: at
 * once, after 1 and after 5 minutes, with `X-Slack-Retry-Num`) carry the same one.
 */
const SIGNATURE = 'x-slack-signature';
const TIMESTAMP = 'x-slack-request-timestamp';
const V0 = /^v0=([0-9a-f]{64})$/i;

export const slack = defineProvider({
  name: 'slack',
  secretEnv: ['SLACK_SIGNING_SECRET'],
  window: {
    seconds: HOUR_SECONDS,
    source:
      'Events API: up to 3 retries, "nearly immediately", after 1 minute and after 5 minutes, with the same `event_id` and `X-Slack-Retry-Num` ([Events API](https://docs.slack.dev/apis/events-api/)); slash commands and interactions are not retried',
  },
  timestamped: true,
  create(env) {
    const secrets = env.secrets.get('SLACK_SIGNING_SECRET');
    if (!secrets) return null;
    const refused = badSignature('X-Slack-Signature or X-Slack-Request-Timestamp');
    return {
      acceptsForm: true,
      verify({ rawBody, headers, nowMs }) {
        const timestamp = headers.get(TIMESTAMP)?.trim();
        const t = parseUnixSeconds(timestamp);
        const given = V0.exec(headers.get(SIGNATURE)?.trim() ?? '')?.[1];
        if (t === null || !given || !withinTolerance(t, nowMs)) return refused;
        const givenBytes = Buffer.from(given, 'hex');
        // Accept if ANY configured secret matches: during a rotation both are live.
        const signed = secrets.some((secret) =>
          safeEqual(hmac('sha256', secret, `v0:${timestamp}:`, rawBody), givenBytes),
        );
        if (!signed) return refused;
        if (FORM_TYPE.test(headers.get('content-type') ?? '')) return slackForm(rawBody);

        const body = parseJsonObject(rawBody);
        if (!body.ok) return body;
        const { type, challenge, event_id: id, event } = body.value;
        // Sent once when the Request URL is saved: echo the challenge, store nothing.
        if (type === 'url_verification') {
          if (typeof challenge !== 'string')
            return refuse('invalid_challenge', 'challenge must be a string.');
          return { ok: true, reply: { challenge } };
        }
        // Carries no event, only the news that Slack is dropping some: nothing to process.
        if (type === 'app_rate_limited') return { ok: true, reply: { ok: true } };

        const bad = checkEventId(id, 'event_id');
        if (bad) return bad;
        const inner = (event as { type?: unknown } | undefined)?.type;
        const eventType = typeof inner === 'string' ? inner : typeof type === 'string' ? type : 'unknown';
        return { ok: true, event: { id: id as string, type: eventType } };
      },
    };
  },
});
