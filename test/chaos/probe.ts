import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';

/** Two runs of one ordering key seen in flight at once. */
export interface Overlap {
  key: string;
  /** The run already in flight, and the one that arrived: `<event> (pid <pid>)`. */
  runs: [string, string];
  /** Seconds into the run. */
  at: number;
  /** The same event twice (a run and its zombie), or two events of the key. */
  sameEvent: boolean;
}

/**
 * Watches the ordered chaos workflow's runs (workflows.ts): each run's `apply` step calls
 * `GET /hold?key=&event=&pid=`, which answers after `holdMs`. A second call for a key while one is
 * in flight is an overlap; it is recorded with both runs' event and process, for the report.
 */
export async function startProbe({ holdMs = 80, elapsed }: { holdMs?: number; elapsed: () => number }) {
  const inFlight = new Map<string, { event: string; pid: string }[]>();
  const overlaps: Overlap[] = [];
  /** Holds per event: how many times its run got that far. */
  const holds = new Map<string, number>();

  const server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://probe');
    const key = url.searchParams.get('key') ?? '';
    const run = { event: url.searchParams.get('event') ?? '', pid: url.searchParams.get('pid') ?? '' };
    if (url.pathname !== '/hold' || !key) {
      res.writeHead(404).end();
      return;
    }
    holds.set(run.event, (holds.get(run.event) ?? 0) + 1);
    const now = inFlight.get(key) ?? [];
    for (const other of now) {
      overlaps.push({
        key,
        runs: [`${other.event} (pid ${other.pid})`, `${run.event} (pid ${run.pid})`],
        at: Math.round(elapsed() * 10) / 10,
        sameEvent: other.event === run.event,
      });
    }
    now.push(run);
    inFlight.set(key, now);
    const done = () => {
      const left = (inFlight.get(key) ?? []).filter((r) => r !== run);
      if (left.length > 0) inFlight.set(key, left);
      else inFlight.delete(key);
    };
    const timer = setTimeout(() => {
      done();
      res.writeHead(200, { 'content-type': 'application/json' }).end('{"held":true}');
    }, holdMs);
    // Answered, or the run was killed mid-hold: it left.
    res.once('close', () => {
      clearTimeout(timer);
      done();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    overlaps,
    holds,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

export type Probe = Awaited<ReturnType<typeof startProbe>>;
