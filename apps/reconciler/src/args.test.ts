import { describe, expect, it } from 'vitest';
import { parseReconcilerArgs } from './args.ts';

const NOW = 1_750_000_000;
const parse = (...argv: string[]) => parseReconcilerArgs(argv, NOW);

describe('reconciler arguments', () => {
  it('no arguments: the service, every configured source', () => {
    expect(parse()).toEqual({ ok: true, once: false });
  });

  it('a one-off run of one source since 72 hours ago', () => {
    expect(parse('--once', '--source', 'stripe', '--since', '72h')).toEqual({
      ok: true,
      once: true,
      sources: ['stripe'],
      since: NOW - 72 * 3600,
    });
  });

  it('refuses an unknown source, option or duration, naming it', () => {
    const messages = [
      parse('--once', '--source', 'shopify'),
      parse('--once', '--since', 'last week'),
      parse('--once', '--since', '2999-01-01'),
      parse('--since', '72h'),
      parse('--sauce', 'stripe'),
      parse('stripe'),
    ].map((r) => (r.ok ? 'accepted' : r.message));
    expect(messages[0]).toContain('"shopify"');
    expect(messages[1]).toContain('"last week"');
    expect(messages[2]).toContain('past date');
    expect(messages[3]).toContain('--once');
    expect(messages[4]).toContain('--sauce');
    expect(messages[5]).not.toBe('accepted');
  });
});
