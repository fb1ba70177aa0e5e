import { demoKeys } from '../../examples/payments/src/keys.ts';
import { readDemoLedgerEntries } from '../../examples/payments/src/ledger.ts';
import { readDemoSubscription } from '../../examples/payments/src/subscriptions.ts';
import type { Load, SentEvent } from './load.ts';
import type { StatusView } from './quiesce.ts';
import type { Topology } from './topology.ts';
import { chaosKeys } from './workflows.ts';

/** The idempotency key of a step (the engine's readable form: every id here is short ASCII). */
const keyOf = (source: string, id: string, workflow: string, step: string) =>
  `${source}:${id}:${workflow}.${step}`;

export type Effects = Awaited<ReturnType<typeof readEffects>>;

/**
 * Every effect, counted where it lands: the fake APIs' objects, the ledger, the book, the mirrors,
 * the forwarding destination's requests.
 */
export async function readEffects(topology: Topology, load: Load) {
  const { apis, store, prefix } = topology;
  const redis = store.redis;
  const keys = chaosKeys(prefix);
  const known = new Set(load.events.keys());
  const unknown: string[] = [];
  const tally = (map: Map<string, number>, id: string) => map.set(id, (map.get(id) ?? 0) + 1);

  const chargesByEvent = new Map<string, number>();
  for (const [key, charge] of apis.charges) {
    const id = charge.metadata.event_id ?? '';
    if (!known.has(id)) unknown.push(`charge ${charge.id} under ${key}`);
    tally(chargesByEvent, `${id} ${key.split(':').at(-1)}`);
  }
  // By the event the text names (both workflows' emails name it), whatever key it was sent under.
  const emailsByEvent = new Map<string, number>();
  for (const [key, email] of apis.emails) {
    const id = /event ([A-Za-z0-9_]+)/.exec(email.body.text ?? '')?.[1] ?? '';
    if (!known.has(id)) unknown.push(`email ${email.id} under ${key}`);
    tally(emailsByEvent, `${id} ${key.split(':').at(-1)}`);
  }
  const ledger = new Map<string, number>();
  for (const line of await readDemoLedgerEntries(redis, demoKeys(prefix))) {
    const { eventId } = JSON.parse(line) as { eventId: string };
    if (!known.has(eventId)) unknown.push(`ledger entry for ${eventId}`);
    tally(ledger, eventId);
  }
  const book = new Map<string, number>();
  for (const id of await redis.lrange(keys.book, 0, -1)) {
    if (!known.has(id)) unknown.push(`book entry for ${id}`);
    tally(book, id);
  }
  const applied = new Map<string, number>();
  for (const account of load.accounts.keys()) {
    for (const id of await redis.lrange(keys.applied(account), 0, -1)) tally(applied, id);
  }
  // Forwarded invoices: the webhook-ids the destination answered 2xx, by event. One per event: a
  // request sent again after a lost answer carries the same webhook-id, and counts once.
  const forwarded = new Map<string, Set<string>>();
  for (const hit of topology.destination.delivered()) {
    const id = String(hit.headers['x-oncehook-event-id']);
    if (!known.has(id)) unknown.push(`forwarded request for ${id}`);
    forwarded.set(id, (forwarded.get(id) ?? new Set()).add(hit.webhookId));
  }
  const mirrors = new Map<string, Awaited<ReturnType<typeof readDemoSubscription>>>();
  for (const sub of load.subscriptions.keys())
    mirrors.set(sub, await readDemoSubscription(redis, demoKeys(prefix), sub));
  return {
    chargesByEvent,
    emailsByEvent,
    emails: apis.emails,
    charges: apis.charges,
    ledger,
    book,
    applied,
    forwarded,
    mirrors,
    unknown,
  };
}

/** Each effect an event must have, and how many times it is there. */
export function effectsOf(ev: SentEvent, fx: Effects): Record<string, number> {
  const email = (workflow: string, step: string) => fx.emailsByEvent.get(`${ev.id} ${workflow}.${step}`) ?? 0;
  const charges = (workflow: string) => fx.chargesByEvent.get(`${ev.id} ${workflow}.charge`) ?? 0;
  switch (ev.kind) {
    case 'payment':
      return {
        charge: charges('payment'),
        receipt: email('payment', 'receipt'),
        ledger: fx.ledger.get(ev.id) ?? 0,
      };
    case 'invoice':
      return {
        charge: charges('chaos-bill'),
        book: fx.book.get(ev.id) ?? 0,
        mail: email('chaos-notify', 'mail'),
        forwarded: fx.forwarded.get(ev.id)?.size ?? 0,
      };
    case 'account':
      return { applied: fx.applied.get(ev.id) ?? 0, mail: email('chaos-notify', 'mail') };
    case 'subscription':
      // Counted per subscription (the mirror's `seen`), not per event.
      return {};
  }
}

/** For a completed event: a step not done, or a marker naming another object than the API holds. */
export function statusMismatch(ev: SentEvent, view: StatusView, fx: Effects): string | null {
  const status = view.status;
  if (!status) return 'no status';
  const notDone = status.steps.filter((s) => !s.done).map((s) => s.name);
  if (notDone.length > 0) return `completed with steps not done: ${notDone.join(', ')}`;
  const openRuns = status.workflows
    .filter((wf) => wf.state !== 'completed')
    .map((wf) => `${wf.name} ${wf.state}`);
  if (openRuns.length > 0) return `completed with runs ${openRuns.join(', ')}`;
  const result = (step: string) =>
    status.steps.find((s) => s.name === step)?.result as Record<string, unknown> | undefined;
  if (ev.kind === 'payment') {
    const charge = fx.charges.get(keyOf('demo', ev.id, 'payment', 'charge'));
    if (charge && result('charge')?.paymentId !== charge.id)
      return `charge marker ${JSON.stringify(result('charge'))}, the API's payment ${charge.id}`;
    const email = fx.emails.get(keyOf('demo', ev.id, 'payment', 'receipt'));
    if (email && result('receipt')?.emailId !== email.id)
      return `receipt marker ${JSON.stringify(result('receipt'))}, the API's email ${email.id}`;
  }
  if (ev.kind === 'invoice') {
    const charge = fx.charges.get(keyOf(ev.source, ev.id, 'chaos-bill', 'charge'));
    if (charge && result('chaos-bill/charge')?.paymentId !== charge.id)
      return `charge marker ${JSON.stringify(result('chaos-bill/charge'))}, the API's payment ${charge.id}`;
  }
  if (ev.kind === 'subscription' && result('apply') === undefined) return 'no apply result';
  return null;
}
