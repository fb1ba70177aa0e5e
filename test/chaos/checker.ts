import { type DestinationHit, sleep } from '@oncehook/testing';
import { effectsOf, readEffects, statusMismatch } from './effects.ts';
import { type Load, windowOf } from './load.ts';
import type { Operator } from './operator.ts';
import { explainJobs, lastCensus, waitQuiet } from './quiesce.ts';
import type { Topology } from './topology.ts';

export interface Violation {
  kind: string;
  detail: string;
}

/** What the checker found: the violations, notes that are not violations, and counts. */
export interface Findings {
  violations: Violation[];
  notes: string[];
  counts: Record<string, number>;
}

/**
 * The end of a chaos run, once the faults stopped and everything is healed: waits for quiet,
 * replays every dead letter left, waits again, then states what must hold (docs/guarantees.md):
 * each event answered 200 has each effect exactly once, nothing is stuck, /status agrees with
 * the effects, no ordering lane is left held, no two runs of one ordering key overlapped.
 */
export async function check({
  load,
  topology,
  admin,
  say,
}: {
  load: Load;
  topology: Topology;
  admin: Operator;
  say: (line: string) => void;
}): Promise<Findings> {
  const violations: Violation[] = [];
  const notes: string[] = [];
  const counts: Record<string, number> = {};
  const violate = (kind: string, detail: string) => violations.push({ kind, detail });
  const all = [...load.events.values()];
  const acked = all.filter((ev) => ev.acks.length > 0);
  for (const ev of all.filter((e) => e.acks.length < e.copies)) {
    violate(
      'never answered 200',
      `${ev.source}/${ev.id}: ${ev.acks.length} of ${ev.copies} copies answered 200; refusals ${JSON.stringify(ev.refused)}`,
    );
  }
  // A copy re-sent after the event's short window may have run as a new event: allowed, noted.
  const late = new Set(
    acked
      .filter((ev) => windowOf(ev) < 3600 && ev.lastTry - Math.min(...ev.acks) > windowOf(ev) - 10)
      .map((ev) => ev.id),
  );
  if (late.size > 0)
    notes.push(
      `${late.size} events re-delivered near or past their window: ${[...late].slice(0, 10).join(', ')}`,
    );

  say('  waiting for quiet after healing...');
  const first = await waitQuiet(topology, acked);
  say(
    `  ${first.quiet ? 'quiet' : `not quiet (${first.jobs} unfinished jobs)`}; replaying the dead letters left`,
  );

  // Every failed event is listed; every dead letter is replayed once, now that the APIs are up.
  let listed = await admin.deadLetters();
  for (let tries = 1; !listed.ok && tries < 5; tries++) {
    await sleep(2000);
    listed = await admin.deadLetters();
  }
  if (!listed.ok) violate('dead letters unreadable', `GET /admin/events?state=failed: ${listed.refused}`);
  const dead = listed.ok ? listed.letters : undefined;
  const deadIds = new Set((dead ?? []).map((d) => `${d.source}/${d.eventId}`));
  for (const ev of listed.ok ? acked : []) {
    if (first.views.get(ev.id)?.state === 'failed' && !deadIds.has(`${ev.source}/${ev.id}`))
      violate('failed, not listed', `${ev.source}/${ev.id} is failed but not in /admin/events`);
  }
  counts['dead letters at the end'] = deadIds.size;
  for (const d of dead ?? []) {
    if (!d.replayable)
      violate('dead letter not replayable', `${d.source}/${d.eventId} (${d.workflow}): ${d.error}`);
  }
  for (const key of deadIds) {
    const [source = '', ...rest] = key.split('/');
    const res = await admin.replayOne(source, rest.join('/'));
    if (res.status !== 200 || res.body?.replayed !== true)
      violate('replay refused', `${key}: ${res.status} ${JSON.stringify(res.body).slice(0, 300)}`);
  }

  const second = deadIds.size > 0 ? await waitQuiet(topology, acked) : first;
  if (!second.quiet) notes.push(`not quiet at the end: ${second.jobs} unfinished jobs (${lastCensus})`);
  const views = second.views;

  const effects = await readEffects(topology, load);
  let explained = 0;
  for (const ev of acked) {
    const view = views.get(ev.id) ?? { code: 0, state: 'unread' };
    const found = effectsOf(ev, effects);
    const missing = Object.entries(found)
      .filter(([, n]) => n === 0)
      .map(([what]) => what);
    const twice = Object.entries(found)
      .filter(([, n]) => n > 1)
      .map(([what, n]) => `${what} ×${n}`);
    const name = `${ev.source}/${ev.id}`;
    if (twice.length > 0) {
      if (late.has(ev.id))
        notes.push(`${name} (re-delivered past its window) ran twice: ${twice.join(', ')}`);
      else violate('effect repeated', `${name}: ${twice.join(', ')} (state ${view.state})`);
    }
    if (view.state === 'absent') {
      if (missing.length > 0 || windowOf(ev) >= 3600)
        violate(
          'lost',
          `${name} answered 200 at ${ev.acks.join(', ')}s; no record now, effects missing: ${missing.join(', ') || 'none'}`,
        );
      else
        counts['completed, record expired after its window'] =
          (counts['completed, record expired after its window'] ?? 0) + 1;
      continue;
    }
    if (view.state === 'completed') {
      counts.completed = (counts.completed ?? 0) + 1;
      if (missing.length > 0)
        violate('status disagrees', `${name} is completed, effects missing: ${missing.join(', ')}`);
      const wrong = statusMismatch(ev, view, effects);
      if (wrong) violate('status disagrees', `${name}: ${wrong}`);
      continue;
    }
    const runs = (view.status?.workflows ?? [])
      .map(
        (wf) =>
          `${wf.name} ${wf.state} (attempts ${wf.attempts}${wf.error ? `, ${wf.error.slice(0, 120)}` : ''})`,
      )
      .join('; ');
    const behind = view.status?.waitingBehind ? `, waiting behind ${view.status.waitingBehind}` : '';
    // The first few say where their jobs are: enough to tell a lost job from a queue nobody takes.
    const jobs = explained++ < 12 ? `; jobs: ${await explainJobs(topology, ev, view)}` : '';
    violate(
      view.state === 'failed' ? 'failed after replay' : 'stuck',
      `${name}: ${view.state}${behind}; runs: ${runs || 'none'}; effects missing: ${missing.join(', ') || 'none'}${jobs}`,
    );
  }

  for (const [sub, final] of load.subscriptions) {
    const events = all.filter((e) => e.object === sub);
    const mirror = effects.mirrors.get(sub);
    // An event re-sent past its window may run again as a new event (a note, as above): the
    // mirror then saw it twice, its state unchanged (the stale guard).
    const again = Math.min(
      events.filter((e) => late.has(e.id)).length,
      Math.max(0, (mirror?.seen ?? 0) - events.length),
    );
    if (again > 0) notes.push(`${sub}: ${again} event(s) re-sent past their window applied again`);
    const want = `${final.status} v${final.version} seen ${events.length + again}`;
    const got = mirror ? `${mirror.status} v${mirror.version} seen ${mirror.seen}` : 'none';
    if (want !== got || mirror?.current_period_end !== final.current_period_end)
      violate('mirror wrong', `${sub}: want ${want}, got ${got}`);
  }
  for (const extra of effects.unknown) violate('unexpected effect', extra);

  checkForwarding(topology, violate, notes, counts);
  await checkLanes(topology, violate, notes);
  checkOverlaps(topology, violate, notes);
  for (const incident of topology.incidents) violate('process incident', incident);

  counts.events = all.length;
  counts['answered 200'] = acked.length;
  counts.charges = effects.charges.size;
  counts.emails = effects.emails.size;
  counts['ledger entries'] = [...effects.ledger.values()].reduce((a, b) => a + b, 0);
  counts['book entries'] = [...effects.book.values()].reduce((a, b) => a + b, 0);
  counts['account events applied'] = [...effects.applied.values()].reduce((a, b) => a + b, 0);
  return { violations, notes, counts };
}

/** Lanes left behind: any `:lane:` key holding a holder, a pending hand-off or waiting events. */
async function checkLanes(topology: Topology, violate: (k: string, d: string) => void, notes: string[]) {
  const redis = topology.store.redis;
  const found = topology.store.keys(`${topology.prefix}:lane:*`);
  for (const key of found) {
    const type = await redis.type(key);
    const content =
      type === 'hash'
        ? JSON.stringify(await redis.hgetall(key))
        : type === 'zset'
          ? JSON.stringify(await redis.zrange(key, '0', '-1', 'WITHSCORES'))
          : type;
    const held = type === 'zset' || (type === 'hash' && /"(holder|job|pending|d:[^"]*)"/.test(content));
    if (held) violate('lane left held', `${key} (${type}): ${content.slice(0, 300)}`);
    else notes.push(`lane key left, empty: ${key} ${content.slice(0, 120)}`);
  }
}

/**
 * Two runs of one ordering key in flight at once: the probe's (chaos accounts, with each run's
 * process) and the fake API's (subscriptions, counted per object). A process frozen mid-step
 * (SIGSTOP past its lock) finishes that step's code when it resumes, whatever the lane says: its
 * writes are refused, but nothing can stop code already running. Such an overlap, by a process
 * resumed just before, is a note; any other is a violation.
 */
function checkOverlaps(topology: Topology, violate: (k: string, d: string) => void, notes: string[]) {
  const resumedJustBefore = (pid: string, at: number) =>
    topology.pauses.some((p) => p.pid === pid && p.to !== undefined && p.to >= at - 10 && p.to <= at + 1);
  for (const o of topology.probe.overlaps) {
    const pids = o.runs.map((r) => /pid (\d+)/.exec(r)?.[1] ?? '');
    const zombie = pids.some((pid) => resumedJustBefore(pid, o.at));
    const what = `${o.key} at ${o.at}s: ${o.runs.join(' and ')}`;
    if (o.sameEvent || zombie)
      notes.push(
        `${o.sameEvent ? "one event's run twice" : 'two runs of one key'} at once${zombie ? ' (a paused worker resumed mid-step)' : ''}: ${what}`,
      );
    else violate('ordered runs overlapped', what);
  }
  // Accounts are the probe's (above, with the processes named); subscriptions only the API sees.
  const frozen = topology.pauses.some((p) => p.to !== undefined && p.to - p.from > 10);
  for (const [object, max] of topology.apis.concurrency.maxPerObject) {
    if (max > 1 && object.startsWith('sub_'))
      violate(
        'ordered runs overlapped',
        `${object}: ${max} requests for it in flight at once at the payments API${frozen ? ' (a worker was frozen past its lock during the run: a step it resumed may be one of them)' : ''}`,
      );
  }
}

/**
 * The forwarding destination's side (each forwarded event once is in effectsOf: one webhook-id
 * answered 2xx): every request of an event is signed and carries the same webhook-id and
 * Idempotency-Key. The same webhook-id answered 2xx twice means an answer was lost on the way back
 * (a worker killed or frozen mid-request): a note, the receiver's dedupe is what it is for.
 */
function checkForwarding(
  topology: Topology,
  violate: (k: string, d: string) => void,
  notes: string[],
  counts: Record<string, number>,
) {
  const byEvent = new Map<string, DestinationHit[]>();
  for (const hit of topology.destination.hits) {
    const id = String(hit.headers['x-oncehook-event-id']);
    byEvent.set(id, [...(byEvent.get(id) ?? []), hit]);
  }
  for (const [id, hits] of byEvent) {
    const ids = new Set(hits.map((h) => `${h.webhookId} ${h.idempotencyKey}`));
    if (ids.size > 1) violate('forwarded under two identities', `chaos/${id}: ${[...ids].join('; ')}`);
    const unsigned = hits.filter((h) => !h.verified).length;
    if (unsigned > 0) violate('forwarded unsigned', `chaos/${id}: ${unsigned} requests fail verification`);
    const delivered = hits.filter((h) => h.status !== undefined && h.status < 300).length;
    if (delivered > 1)
      notes.push(`chaos/${id} forwarded ${delivered}x with one webhook-id: an answer was lost`);
  }
  counts['forwarded requests'] = topology.destination.hits.length;
  counts['forwarded events'] = byEvent.size;
}
