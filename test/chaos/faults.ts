import { sleep } from '@oncehook/testing';
import type { Operator } from './operator.ts';
import type { Random } from './random.ts';
import { describeFault, type Fault } from './schedule.ts';
import type { Topology } from './topology.ts';

/**
 * Runs a fault schedule against a topology: each fault starts at its time and ends (restart,
 * SIGCONT, API back) after its span, whatever else is going on. `done` resolves when every fault
 * started has ended. Logs what it did, when, with what outcome.
 */
export function runFaults({
  faults,
  topology,
  admin,
  rng,
  t0,
  say,
}: {
  faults: Fault[];
  topology: Topology;
  admin: Operator;
  /** For the operator's picks among the dead letters listed at the time. */
  rng: Random;
  t0: number;
  say: (line: string) => void;
}) {
  const ending = new Set<Promise<void>>();
  let aborted = false;
  const at = () => `+${((Date.now() - t0) / 1000).toFixed(1).padStart(6)}s`;
  const log = (line: string) => say(`  ${at()}  ${line}`);
  const later = (seconds: number, what: string, end: () => unknown) => {
    const p = sleep(seconds * 1000)
      .then(end)
      .then(
        (outcome) => log(`${what}${typeof outcome === 'string' ? `: ${outcome}` : ''}`),
        (err: Error) => log(`${what} FAILED: ${err.message}`),
      );
    ending.add(p);
  };

  async function start(f: Fault) {
    const { apis, store } = topology;
    switch (f.kind) {
      case 'kill-worker': {
        const slot = topology.workers[f.worker];
        if (!slot) return;
        topology.kill(slot);
        later(f.restartAfter, `worker-${f.worker} restarted`, () => topology.start(slot));
        return;
      }
      case 'stop-worker': {
        const slot = topology.workers[f.worker];
        if (!slot) return;
        topology.pause(slot, true);
        later(f.seconds, `worker-${f.worker} SIGCONT`, () => topology.pause(slot, false));
        return;
      }
      case 'kill-ingest': {
        const slot = topology.ingests[f.ingest];
        if (!slot) return;
        topology.kill(slot);
        later(f.restartAfter, `ingest-${f.ingest} restarted`, () => topology.start(slot));
        return;
      }
      case 'api-down':
        apis.setDown(true, f.api);
        later(f.seconds, `${f.api} API back`, () => apis.setDown(false, f.api));
        return;
      case 'api-slow':
        apis.setDelay(f.delayMs);
        later(f.seconds, 'APIs fast again', () => apis.setDelay(0));
        return;
      case 'kill-primary': {
        const port = await store.killPrimary?.(f.stallFirst);
        if (port === undefined) return;
        log(`killed the primary ${port}`);
        later(f.restartAfter, `redis ${port} restarted`, () => store.restartServer?.(port));
        return;
      }
      case 'pause-master':
        store.pauseMaster?.(f.master, true);
        later(f.seconds, `master ${f.master} SIGCONT`, () => store.pauseMaster?.(f.master, false));
        return;
      case 'destination-down': {
        const { destination } = topology;
        if (f.how === 'refuses') await destination.down();
        else destination.answerWith(() => ({ status: 503, body: 'down for maintenance' }));
        later(f.seconds, 'the forwarding destination back', async () => {
          destination.answerWith(() => ({ status: 200, body: 'ok' }));
          await destination.up();
        });
        return;
      }
      case 'replay-one': {
        const listed = await admin.deadLetters();
        if (!listed.ok) return log(`operator: the dead letters could not be listed: ${listed.refused}`);
        const dead = listed.letters;
        if (dead.length === 0) return log('operator: no dead letters');
        const pick = rng.pick(dead);
        const res = await admin.replayOne(pick.source, pick.eventId);
        return log(
          `operator: ${dead.length} dead letters; replay ${pick.source}/${pick.eventId} (${pick.workflow}, failed at ${pick.failedStep}) -> ${res.status} ${JSON.stringify(res.body).slice(0, 160)}`,
        );
      }
      case 'replay-bulk': {
        const listed = await admin.deadLetters();
        const dead = listed.ok ? listed.letters : undefined;
        const res = await admin.replayBulk(f.limit);
        const replayed = res.status === 200 ? res.body.replayed.length : '?';
        const skipped = res.status === 200 ? JSON.stringify(res.body.skipped).slice(0, 160) : '';
        return log(
          `operator: ${dead?.length ?? '?'} dead letters; bulk replay -> ${res.status}, ${replayed} replayed, skipped ${skipped}`,
        );
      }
    }
  }

  const done = (async () => {
    for (const f of faults) {
      const wait = t0 + f.at * 1000 - Date.now();
      if (wait > 0) await sleep(wait);
      if (aborted) break;
      log(describeFault(f));
      const started = start(f).catch((err: Error) => log(`${describeFault(f)} FAILED: ${err.message}`));
      // The operator takes its time; the faults after it do not wait for it.
      if (f.kind === 'replay-one' || f.kind === 'replay-bulk') ending.add(started);
      else await started;
    }
    while (ending.size > 0) {
      const all = [...ending];
      await Promise.all(all);
      for (const p of all) ending.delete(p);
    }
  })();

  return {
    done,
    abort() {
      aborted = true;
    },
  };
}
