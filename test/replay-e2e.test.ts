import { adminHeaders, freePort, type System, startAlertHook, startSystem } from '@oncehook/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

/**
 * An operator's day, with real processes and a real Redis: two events fail for good while an API
 * is down (the payments API for one, the mail API for the other, after its charge), the alert
 * arrives once per failure, the dead letters are listed, the API comes back, and the replays
 * complete each event with exactly one charge. A second replay changes nothing.
 */
let sys: System;
let hook: Awaited<ReturnType<typeof startAlertHook>>;
let metricsPort: number;
beforeAll(async () => {
  hook = await startAlertHook();
  metricsPort = await freePort();
  sys = await startSystem({
    workers: 1,
    env: { MAX_ATTEMPTS: '3', ALERT_WEBHOOK_URL: hook.url, METRICS_PORT: String(metricsPort) },
  });
});
afterAll(async () => {
  await sys?.stop();
  await hook?.close();
});

const admin = async (path: string, method = 'POST') => {
  const res = await fetch(`${sys.base}${path}`, { method, headers: adminHeaders() });
  // biome-ignore lint/suspicious/noExplicitAny: answers are inspected freely
  return { status: res.status, body: (await res.json()) as any };
};
const chargesOf = (eventId: string) =>
  [...sys.apis.charges.values()].filter((c) => c.metadata.event_id === eventId);

describe('replaying failed events', () => {
  it('completes each failed event with one charge once the API is back; a second replay changes nothing', async () => {
    // The payments API is down: evt_pay fails at its charge, having charged nothing.
    sys.apis.setDown(true, 'payments');
    expect((await sys.deliver('evt_pay', 1500)).status).toBe(200);
    expect(await sys.waitFor(['evt_pay'], ['failed'])).toEqual([]);
    // The mail API is down: evt_mail is charged, then fails at its receipt.
    sys.apis.setDown(false, 'payments');
    sys.apis.setDown(true, 'emails');
    expect((await sys.deliver('evt_mail', 2500)).status).toBe(200);
    expect(await sys.waitFor(['evt_mail'], ['failed'])).toEqual([]);
    expect(chargesOf('evt_mail')).toHaveLength(1);

    // Paged once per failure, not once per attempt.
    expect(hook.received.map((a) => a.text.split(' (')[0])).toEqual([
      'oncehook: workflow "payment" failed for good for demo event evt_pay',
      'oncehook: workflow "payment" failed for good for demo event evt_mail',
    ]);

    const dead = await admin('/admin/events?state=failed&source=demo', 'GET');
    expect(dead.status).toBe(200);
    const byId = Object.fromEntries(dead.body.events.map((e: { eventId: string }) => [e.eventId, e]));
    expect(byId.evt_pay).toMatchObject({ workflow: 'payment', failedStep: 'charge', attempts: 3 });
    expect(byId.evt_mail).toMatchObject({ workflow: 'payment', failedStep: 'receipt', attempts: 3 });
    expect(byId.evt_pay.error).toMatch(/down|503/);

    // Without the token: refused, nothing replayed.
    const anonymous = await fetch(`${sys.base}/admin/replay/demo/evt_pay`, { method: 'POST' });
    expect(anonymous.status).toBe(401);
    expect(anonymous.headers.get('www-authenticate')).toContain('Basic');

    sys.apis.setDown(false, 'emails');
    const one = await admin('/admin/replay/demo/evt_pay');
    expect(one.status).toBe(200);
    expect(one.body).toMatchObject({ replayed: true, replays: 1 });
    const bulk = await admin('/admin/replay?state=failed&source=demo&since=1h&limit=10');
    expect(bulk.status).toBe(200);
    expect(bulk.body.replayed.map((r: { eventId: string }) => r.eventId)).toEqual(['evt_mail']);
    // Kept: the charge, with its marker. validate is pure (no marker): it runs again.
    expect(bulk.body.replayed[0].workflows[0]).toMatchObject({
      kept: ['charge'],
      rerun: ['validate', 'receipt', 'ledger'],
    });
    expect(await sys.waitFor(['evt_pay', 'evt_mail'])).toEqual([]);

    for (const id of ['evt_pay', 'evt_mail']) {
      const charges = chargesOf(id);
      expect(charges, id).toHaveLength(1);
      // One request per charge: the replay of evt_mail did not call the payments API again.
      expect(charges[0]?.hits, id).toBe(1);
      expect((await sys.status(id))?.replays).toBe(1);
    }
    expect(
      sys
        .ledgerEntries()
        .map((e) => e.eventId)
        .sort(),
    ).toEqual(['evt_mail', 'evt_pay']);

    // A second replay: the event completed, nothing runs.
    const again = await admin('/admin/replay/demo/evt_pay');
    expect(again).toMatchObject({ status: 200, body: { replayed: false, state: 'completed' } });
    const none = await admin('/admin/replay?state=failed');
    expect(none.body).toEqual({ replayed: [], skipped: [], more: false });
    expect(chargesOf('evt_pay')).toHaveLength(1);
    expect((await sys.status('evt_pay'))?.replays).toBe(1);
    expect(hook.received).toHaveLength(2);

    // The worker counted it all.
    const metrics = await (await fetch(`http://127.0.0.1:${metricsPort}/metrics`)).text();
    const runs = (outcome: string) =>
      Number(
        new RegExp(`oncehook_workflow_runs_total\\{workflow="payment",outcome="${outcome}"\\} (\\d+)`).exec(
          metrics,
        )?.[1],
      );
    expect([runs('failed'), runs('retried'), runs('replayed'), runs('completed')]).toEqual([2, 4, 2, 2]);
    expect(metrics).toMatch(/oncehook_step_duration_seconds_count\{workflow="payment",step="charge"\} \d+/);
    expect(metrics).toContain('oncehook_alerts_total{outcome="sent"} 2');
    const ready = await fetch(`http://127.0.0.1:${metricsPort}/readyz`);
    expect(ready.status).toBe(200);
    expect(Object.keys(((await ready.json()) as { checks: object }).checks).join()).toMatch(
      /eviction_policy@.*persistence@/,
    );
  });
});
