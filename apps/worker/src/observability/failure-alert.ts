import { EVENT_FIELDS, type EventJob, type Keys, type Logger, type RedisClient } from '@oncehook/shared';
import { setRecordField } from '../engine/event-state.ts';

/**
 * ALERT_WEBHOOK_URL: one JSON POST (`{"text": …}`, what a Slack incoming webhook takes) when a
 * workflow fails for good, once per failure.
 *
 * Sending it is a marker-guarded action, like a step: the run's `n:<wf>` field names the failure it
 * was sent for (`<reruns>.<attempt>`), written after the POST succeeded. The engine awaits it before
 * BullMQ fails the job, so a worker that dies before sending leaves the job to be re-run (and the
 * alert with it), and a re-run of the same failure (a stalled job's last attempt run again) finds
 * the mark and sends nothing. Each replay is a new failure: its own alert. A worker that dies
 * between the POST and the mark sends it twice: the one window, as for any effect without an
 * idempotency key.
 */

export interface FailureAlertDeps {
  url: string;
  redis: RedisClient;
  keys: Keys;
  log: Logger;
  /** Tried this many times, this far apart (then given up: the failure is in the logs and metrics). */
  retryDelaysMs?: number[];
  timeoutMs?: number;
  fetch?: typeof fetch;
}

export type AlertResult = 'sent' | 'already_sent' | 'superseded' | 'failed';

export interface FailedRun {
  event: EventJob;
  tag: string;
  workflow: string;
  attempt: number;
  error?: string | undefined;
}

export function createFailureAlert(deps: FailureAlertDeps) {
  const delays = deps.retryDelaysMs ?? [0, 1000, 5000];
  const post = deps.fetch ?? fetch;
  return async function alertFailure(run: FailedRun): Promise<AlertResult> {
    const key = deps.keys.event(run.tag);
    const field = EVENT_FIELDS.alerted(run.workflow);
    const [gen, reruns, sent] = await deps.redis.hmget(key, 'receivedAt', EVENT_FIELDS.reruns, field);
    if (gen !== String(run.event.receivedAt)) return 'superseded';
    const failure = `${reruns ?? 0}.${run.attempt}`;
    if (sent === failure) return 'already_sent';
    const body = JSON.stringify({ text: alertText(run) });
    for (const [i, delay] of delays.entries()) {
      if (delay > 0) await new Promise((r) => setTimeout(r, delay));
      try {
        const res = await post(deps.url, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body,
          signal: AbortSignal.timeout(deps.timeoutMs ?? 5000),
        });
        await res.body?.cancel();
        if (res.ok) {
          await setRecordField(deps.redis, deps.keys, run.tag, { gen, field, value: failure });
          return 'sent';
        }
        deps.log.warn({ status: res.status, try: i + 1 }, 'ALERT_WEBHOOK_URL refused the alert');
      } catch (err) {
        deps.log.warn({ err: (err as Error).message, try: i + 1 }, 'ALERT_WEBHOOK_URL unreachable');
      }
    }
    return 'failed';
  };
}

export function alertText(run: FailedRun): string {
  const { source, eventId } = run.event;
  return [
    `oncehook: workflow "${run.workflow}" failed for good for ${source} event ${eventId} (attempt ${run.attempt}): ${run.error ?? 'unknown error'}`,
    `Fix the cause, then replay it: POST /admin/replay/${source}/${encodeURIComponent(eventId)} on the ingest (ADMIN_TOKEN)`,
  ].join('\n');
}
