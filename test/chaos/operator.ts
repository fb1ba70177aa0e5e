import { adminHeaders } from '@oncehook/testing';

export interface DeadLetter {
  source: string;
  eventId: string;
  workflow: string | null;
  failedStep: string | null;
  error: string;
  replayable: boolean;
}

export interface AdminAnswer {
  status: number;
  // biome-ignore lint/suspicious/noExplicitAny: answers are inspected freely
  body: any;
}

/**
 * The operator's side of the admin API, over whichever ingest answers (one may be down): the dead
 * letters a page at a time, one replay, a bulk replay. Each call's outcome is logged for the report.
 */
export function operator(bases: () => string[], say: (line: string) => void) {
  async function call(method: 'GET' | 'POST', path: string): Promise<AdminAnswer> {
    let last: AdminAnswer = { status: 0, body: null };
    for (const base of bases()) {
      try {
        const res = await fetch(`${base}${path}`, {
          method,
          headers: adminHeaders(),
          signal: AbortSignal.timeout(30_000),
        });
        const text = await res.text();
        let body: unknown = text;
        try {
          body = JSON.parse(text);
        } catch {}
        last = { status: res.status, body };
        if (res.status < 500) return last;
      } catch (err) {
        last = { status: 0, body: String(err) };
      }
    }
    return last;
  }

  return {
    call,
    /** Every dead letter listed now, or the answer that refused to list them. */
    async deadLetters(): Promise<{ ok: true; letters: DeadLetter[] } | { ok: false; refused: string }> {
      const letters: DeadLetter[] = [];
      for (let cursor: string | null = '0'; cursor !== null; ) {
        const page = await call('GET', `/admin/events?state=failed&limit=500&cursor=${cursor}`);
        if (page.status !== 200)
          return { ok: false, refused: `${page.status} ${JSON.stringify(page.body).slice(0, 300)}` };
        letters.push(...(page.body.events as DeadLetter[]));
        cursor = page.body.nextCursor;
      }
      return { ok: true, letters };
    },
    replayOne: (source: string, eventId: string) =>
      call('POST', `/admin/replay/${encodeURIComponent(source)}/${encodeURIComponent(eventId)}`),
    replayBulk: (limit: number) => call('POST', `/admin/replay?state=failed&limit=${limit}`),
    say,
  };
}

export type Operator = ReturnType<typeof operator>;
