import { random } from './random.ts';
import type { Mode } from './store.ts';

/**
 * What happens when in a chaos run, drawn from the seed alone: the same seed, mode and length give
 * the same schedule. Times are seconds from the start of the load.
 */
export type Fault =
  | { at: number; kind: 'kill-worker'; worker: number; restartAfter: number }
  | { at: number; kind: 'stop-worker'; worker: number; seconds: number }
  | { at: number; kind: 'kill-ingest'; ingest: number; restartAfter: number }
  | { at: number; kind: 'api-down'; api: 'payments' | 'emails' | 'both'; seconds: number }
  | { at: number; kind: 'api-slow'; delayMs: number; seconds: number }
  | { at: number; kind: 'kill-primary'; stallFirst: boolean; restartAfter: number }
  | { at: number; kind: 'pause-master'; master: number; seconds: number }
  | { at: number; kind: 'destination-down'; how: 'refuses' | '503'; seconds: number }
  | { at: number; kind: 'replay-one' }
  | { at: number; kind: 'replay-bulk'; limit: number };

/** How long a fault keeps its target away (until restarted, resumed or back up). */
export function span(f: Fault): number {
  if ('restartAfter' in f) return f.restartAfter;
  if ('seconds' in f) return f.seconds;
  return 0;
}

const round = (n: number) => Math.round(n * 10) / 10;

export function schedule(seed: number, mode: Mode, seconds: number): Fault[] {
  const rng = random(seed, 'faults');
  const faults: Fault[] = [];
  const workerFree = [0, 0, 0];
  const ingestFree = [0, 0];
  let apiFree = 0;
  let storeFree = 0;
  let stalled = false;
  const storeFault = mode === 'sentinel' ? 'kill-primary' : 'pause-master';

  for (let at = round(rng.between(3, 6)); at < seconds - 3; at = round(at + rng.between(2, 7))) {
    const idleWorkers = [0, 1, 2].filter((i) => (workerFree[i] ?? 0) <= at);
    const idleIngests = [0, 1].filter((i) => (ingestFree[i] ?? 0) <= at);
    const weights = {
      // At least one worker and one ingest stay untouched at any time.
      ...(idleWorkers.length >= 2 ? { 'kill-worker': 3, 'stop-worker': 3 } : {}),
      ...(idleIngests.length === 2 ? { 'kill-ingest': 2 } : {}),
      ...(apiFree <= at ? { 'api-down': 2.5, 'api-slow': 1 } : {}),
      ...(storeFree <= at ? (mode === 'sentinel' ? { 'kill-primary': 1.5 } : { 'pause-master': 2 }) : {}),
    };
    if (Object.keys(weights).length === 0) continue;
    // Every run loses its Redis primary (or pauses a master) at least once, early on.
    const storeDue =
      !faults.some((f) => f.kind === 'kill-primary' || f.kind === 'pause-master') &&
      at > Math.min(seconds / 3, 25);
    const kind = storeDue && storeFree <= at ? storeFault : rng.weighted<Fault['kind']>(weights);
    let fault: Fault;
    switch (kind) {
      case 'kill-worker':
        fault = { at, kind, worker: rng.pick(idleWorkers), restartAfter: round(rng.between(1, 8)) };
        break;
      case 'stop-worker':
        // Often longer than the 10 s lock: another worker takes the job over while this one sleeps.
        fault = {
          at,
          kind,
          worker: rng.pick(idleWorkers),
          seconds: round(rng.chance(0.4) ? rng.between(11, 20) : rng.between(1, 8)),
        };
        break;
      case 'kill-ingest':
        fault = { at, kind, ingest: rng.pick(idleIngests), restartAfter: round(rng.between(1, 6)) };
        break;
      case 'api-down': {
        const long = rng.chance(0.15);
        fault = {
          at,
          kind,
          api: rng.weighted({ payments: 2, emails: 1, both: 1 }),
          // Now and then an outage of a minute or so: ordered runs fail one after the other, each
          // through all its retries, while the events behind them park past their window.
          seconds: round(long && seconds >= 120 ? rng.between(40, 75) : rng.between(2, 12)),
        };
        break;
      }
      case 'api-slow':
        fault = { at, kind, delayMs: rng.int(300, 3000), seconds: round(rng.between(4, 12)) };
        break;
      case 'kill-primary':
        fault = {
          at,
          kind,
          stallFirst: !stalled && rng.chance(0.5),
          restartAfter: round(rng.between(4, 10)),
        };
        stalled ||= fault.stallFirst;
        break;
      case 'pause-master':
        // Past the cluster's 15 s node timeout now and then: the cluster itself says it is down.
        fault = {
          at,
          kind,
          master: rng.int(0, 2),
          seconds: round(rng.chance(0.15) ? rng.between(16, 20) : rng.between(1, 10)),
        };
        break;
      default:
        continue;
    }
    faults.push(fault);
    const until = at + span(fault) + 1;
    if ('worker' in fault) workerFree[fault.worker] = until;
    if ('ingest' in fault) ingestFree[fault.ingest] = until;
    if (fault.kind === 'api-down' || fault.kind === 'api-slow') apiFree = until;
    // A failover takes a few seconds, and the sentinels will not fail over again within 10 s.
    if (fault.kind === 'kill-primary') storeFree = until + 20;
    if (fault.kind === 'pause-master') storeFree = until;
  }

  // The forwarding destination fails now and then, and recovers: drawn from a stream of its own,
  // so that every other fault of a seed is where it was.
  const dest = random(seed, 'destination');
  for (let at = round(dest.between(5, 15)); at < seconds - 3; at = round(at + dest.between(15, 40))) {
    const how = dest.pick(['refuses', '503'] as const);
    faults.push({ at, kind: 'destination-down', how, seconds: round(dest.between(2, 20)) });
  }

  // The operator looks at the dead letters now and then, and replays some.
  for (let at = round(rng.between(8, 14)); at < seconds; at = round(at + rng.between(8, 16))) {
    faults.push(
      rng.chance(0.7) ? { at, kind: 'replay-one' } : { at, kind: 'replay-bulk', limit: rng.int(3, 20) },
    );
  }
  return faults.sort((a, b) => a.at - b.at);
}

export function describeFault(f: Fault): string {
  switch (f.kind) {
    case 'kill-worker':
      return `kill -9 worker-${f.worker}, restart after ${f.restartAfter}s`;
    case 'stop-worker':
      return `SIGSTOP worker-${f.worker} for ${f.seconds}s${f.seconds > 10 ? ' (past its 10 s lock)' : ''}`;
    case 'kill-ingest':
      return `kill -9 ingest-${f.ingest}, restart after ${f.restartAfter}s`;
    case 'api-down':
      return `${f.api === 'both' ? 'payments and mail APIs' : `${f.api} API`} down (503) for ${f.seconds}s`;
    case 'api-slow':
      return `APIs slow (${f.delayMs} ms a request) for ${f.seconds}s`;
    case 'kill-primary':
      return `${f.stallFirst ? 'replication stalls 1 s, then ' : ''}kill -9 the Redis primary (failover), restart it as a replica after ${f.restartAfter}s`;
    case 'pause-master':
      return `SIGSTOP cluster master ${f.master} for ${f.seconds}s`;
    case 'destination-down':
      return `the forwarding destination ${f.how === 'refuses' ? 'refuses connections' : 'answers 503'} for ${f.seconds}s`;
    case 'replay-one':
      return 'operator: lists the dead letters, replays one';
    case 'replay-bulk':
      return `operator: lists the dead letters, bulk replay (limit ${f.limit})`;
  }
}

export function formatSchedule(faults: Fault[]): string {
  return faults.map((f) => `  +${f.at.toFixed(1).padStart(6)}s  ${describeFault(f)}`).join('\n');
}
