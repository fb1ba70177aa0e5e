import { describe, expect, it } from 'vitest';
import { parseReplayArgs } from './replay-args.ts';

describe('pnpm replay arguments', () => {
  it('takes one event, or the failed ones with bounds', () => {
    expect(parseReplayArgs(['--source', 'demo', '--event', 'evt_1'])).toEqual({
      ok: true,
      mode: 'one',
      source: 'demo',
      eventId: 'evt_1',
    });
    expect(parseReplayArgs(['--failed', '--since', '24h'])).toEqual({
      ok: true,
      mode: 'failed',
      sinceSeconds: 86_400,
      limit: 100,
    });
    expect(parseReplayArgs(['--failed', '--source', 'stripe', '--limit', '5'])).toMatchObject({
      source: 'stripe',
      limit: 5,
    });
  });

  it('refuses what it cannot do, saying why', () => {
    for (const [argv, why] of [
      [[], /--event .* or --failed/],
      [['--event', 'evt_1'], /needs --source/],
      [['--source', 'demo', '--event', 'e', '--failed'], /one or the other/],
      [['--failed', '--since', 'yesterday'], /--since/],
      [['--failed', '--limit', '1001'], /--limit/],
      [['--failed', '--limit', '0'], /--limit/],
      [['--bogus'], /bogus/],
    ] as const) {
      const parsed = parseReplayArgs([...argv]);
      expect(parsed.ok).toBe(false);
      if (!parsed.ok) expect(parsed.message).toMatch(why);
    }
  });
});
