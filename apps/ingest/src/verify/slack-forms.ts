import { field, formJson, parseForm } from './form-body.ts';
import { checkEventId, parseJsonObject } from './json-body.ts';
import { type RawAnswer, refuse, type Verification } from './types.ts';

/**
 * Slack's form-encoded requests, signature already checked: slash commands, interactivity (the
 * JSON in the `payload` field) and `ssl_check`. Slack shows a command's or an action's answer body
 * to the user, and reads a modal submission's as a `response_action`: the answer is an empty 200,
 * sent as soon as the event is durable, well inside Slack's 3 seconds (the work runs after).
 *
 * Both kinds are deduped on their signed `trigger_id`, unique per invocation. Slack does not retry
 * them; a second delivery would be someone re-sending a captured one within the 5-minute tolerance.
 */
const EMPTY: RawAnswer = { body: '', contentType: 'text/plain; charset=utf-8' };

export function slackForm(rawBody: Buffer): Verification {
  const form = parseForm(rawBody);
  if (!form.ok) return form;
  const { fields } = form;
  // Sent to slash-command URLs to check the certificate: nothing to process.
  if (fields.has('ssl_check')) return { ok: true, answer: EMPTY };

  const interaction = field(fields, 'payload');
  if (interaction !== undefined) {
    const payload = parseJsonObject(Buffer.from(interaction, 'utf8'));
    if (!payload.ok) return payload;
    const { type, trigger_id: id } = payload.value;
    const bad = checkEventId(id, 'payload.trigger_id');
    if (bad) return bad;
    if (typeof type !== 'string') return refuse('invalid_event_type', 'payload.type must be a string.');
    return { ok: true, event: { id: id as string, type, payload: interaction, answer: EMPTY } };
  }

  const command = field(fields, 'command');
  if (command !== undefined) {
    const id = field(fields, 'trigger_id');
    const bad = checkEventId(id, 'trigger_id');
    if (bad) return bad;
    return { ok: true, event: { id: id as string, type: command, payload: formJson(fields), answer: EMPTY } };
  }
  return refuse(
    'missing_payload',
    'A Slack form body is a slash command (`command`), an interaction (`payload`) or an `ssl_check`.',
  );
}
