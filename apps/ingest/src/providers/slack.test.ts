import { createHmac } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { addressedTo, servedSource } from '../testing/providers.ts';
import type { Provider } from '../verify/types.ts';

const NOW = 1_750_000_000_000;
const nowS = NOW / 1000;
const callback = {
  token: 'x',
  team_id: 'T1',
  type: 'event_callback',
  event_id: 'Ev08MFMKH6',
  event: { type: 'app_mention', text: 'hi' },
};
const payload = JSON.stringify(callback);

const make = (secrets: string) => servedSource('slack', { SLACK_SIGNING_SECRET: secrets }) as Provider;
// Per Slack's docs: v0= hex HMAC-SHA256 of "v0:<timestamp>:<body>" with the signing secret.
const headers = (secret: string, t = nowS, body = payload) => ({
  'x-slack-request-timestamp': String(t),
  'x-slack-signature': `v0=${createHmac('sha256', secret).update(`v0:${t}:${body}`).digest('hex')}`,
});
const verify = (p: Provider, h: Record<string, string>, body = payload) =>
  p.verify({ ...addressedTo('slack'), rawBody: Buffer.from(body), headers: new Headers(h), nowMs: NOW });

describe('slack verifier', () => {
  const provider = make('slack-signing');

  it('accepts an Events API callback; the id is the signed event_id, the type the inner event type', async () => {
    expect(await verify(provider, headers('slack-signing'))).toEqual({
      ok: true,
      event: { id: 'Ev08MFMKH6', type: 'app_mention' },
    });
  });

  it('answers the url_verification challenge directly, after checking the signature', async () => {
    const body = JSON.stringify({ token: 'x', challenge: 'chal-123', type: 'url_verification' });
    expect(await verify(provider, headers('slack-signing', nowS, body), body)).toEqual({
      ok: true,
      reply: { challenge: 'chal-123' },
    });
    expect(await verify(provider, headers('forged', nowS, body), body)).toMatchObject({
      reason: 'invalid_signature',
    });
  });

  it.each([
    ['tampered body', headers('slack-signing'), payload.replace('hi', 'ho')],
    ['wrong secret', headers('other'), payload],
    ['missing signature', { 'x-slack-request-timestamp': String(nowS) }, payload],
    ['missing timestamp', { 'x-slack-signature': headers('slack-signing')['x-slack-signature'] }, payload],
    ['stale timestamp (301 s)', headers('slack-signing', nowS - 301), payload],
    ['future timestamp (301 s)', headers('slack-signing', nowS + 301), payload],
    [
      'timestamp with junk',
      { ...headers('slack-signing'), 'x-slack-request-timestamp': `${nowS}abc` },
      payload,
    ],
  ])('refuses a %s with one 401', async (_, h, body) => {
    expect(await verify(provider, h, body)).toMatchObject({
      ok: false,
      reason: 'invalid_signature',
    });
  });

  it('accepts timestamps inside the 300 s tolerance on either side', async () => {
    expect(await verify(provider, headers('slack-signing', nowS - 299))).toMatchObject({ ok: true });
    expect(await verify(provider, headers('slack-signing', nowS + 299))).toMatchObject({ ok: true });
  });

  it('accepts either configured signing secret during a rotation', async () => {
    const rotating = make('old,new');
    expect(await verify(rotating, headers('old'))).toMatchObject({ ok: true });
    expect(await verify(rotating, headers('new'))).toMatchObject({ ok: true });
  });

  it('acknowledges app_rate_limited without storing anything, and refuses callbacks without event_id', async () => {
    const limited = JSON.stringify({ type: 'app_rate_limited', team_id: 'T1', minute_rate_limited: 1 });
    expect(await verify(provider, headers('slack-signing', nowS, limited), limited)).toEqual({
      ok: true,
      reply: { ok: true },
    });
    const noId = JSON.stringify({ type: 'event_callback', event: { type: 'message' } });
    expect(await verify(provider, headers('slack-signing', nowS, noId), noId)).toMatchObject({
      reason: 'invalid_event_id',
    });
  });

  it('is not served without SLACK_SIGNING_SECRET', () => {
    expect(servedSource('slack')).toBeUndefined();
  });

  describe('form bodies: slash commands, interactivity, ssl_check', () => {
    const FORM = { 'content-type': 'application/x-www-form-urlencoded' };
    const post = (body: string, secret = 'slack-signing') =>
      verify(provider, { ...headers(secret, nowS, body), ...FORM }, body);
    const command = new URLSearchParams({
      token: 'x',
      team_id: 'T1',
      channel_id: 'C1',
      user_id: 'U1',
      command: '/deploy',
      text: 'api --env prod',
      response_url: 'https://hooks.slack.com/commands/T1/1/abc',
      trigger_id: '13345224609.738474920.8088930838d88f008e0',
    }).toString();
    const EMPTY = { body: '', contentType: expect.stringMatching(/^text\/plain/) };

    it('accepts a slash command: deduped on its trigger_id, typed by the command, answered empty', async () => {
      const result = await post(command);
      expect(result).toMatchObject({
        ok: true,
        event: { id: '13345224609.738474920.8088930838d88f008e0', type: '/deploy', answer: EMPTY },
      });
      const payload = result.ok && 'event' in result ? result.event.payload : undefined;
      expect(JSON.parse(payload ?? '{}')).toMatchObject({ command: '/deploy', text: 'api --env prod' });
    });

    it('accepts an interaction (`payload=`): its trigger_id and type, the JSON stored as sent', async () => {
      const json = JSON.stringify({
        type: 'block_actions',
        trigger_id: '12466734323.1395872398',
        actions: [{ action_id: 'approve', value: 'yes' }],
      });
      const body = `payload=${encodeURIComponent(json)}`;
      expect(await post(body)).toEqual({
        ok: true,
        event: { id: '12466734323.1395872398', type: 'block_actions', payload: json, answer: EMPTY },
      });
    });

    it('answers a signed ssl_check with an empty 200 and stores nothing; an unsigned one is refused', async () => {
      const body = 'ssl_check=1&token=x';
      expect(await post(body)).toEqual({ ok: true, answer: EMPTY });
      expect(await verify(provider, FORM, body)).toMatchObject({ reason: 'invalid_signature' });
    });

    it('refuses a tampered or forged form, one without trigger_id, and one that is none of the three', async () => {
      expect(
        await verify(provider, { ...headers('slack-signing', nowS, command), ...FORM }, `${command}x`),
      ).toMatchObject({
        reason: 'invalid_signature',
      });
      expect(await post(command, 'other')).toMatchObject({ reason: 'invalid_signature' });
      const noTrigger = command.replace(/&trigger_id=[^&]*/, '');
      expect(await post(noTrigger)).toMatchObject({ reason: 'invalid_event_id' });
      const noTriggerPayload = `payload=${encodeURIComponent(JSON.stringify({ type: 'view_closed' }))}`;
      expect(await post(noTriggerPayload)).toMatchObject({ reason: 'invalid_event_id' });
      expect(await post('foo=bar')).toMatchObject({ reason: 'missing_payload' });
    });
  });

  it('keeps the same event_id on a retry (X-Slack-Retry-Num): the same dedupe key', async () => {
    const retry = {
      ...headers('slack-signing', nowS + 60),
      'x-slack-retry-num': '1',
      'x-slack-retry-reason': 'http_timeout',
    };
    const first = await verify(provider, headers('slack-signing'));
    const again = await provider.verify({
      ...addressedTo('slack'),
      rawBody: Buffer.from(payload),
      headers: new Headers(retry),
      nowMs: NOW + 60_000,
    });
    expect(
      first.ok && 'event' in first && again.ok && 'event' in again && again.event.id === first.event.id,
    ).toBe(true);
  });
});
