import { describe, expect, it } from 'vitest';
import { parseDuration, parseSince } from './duration.ts';

describe('parseDuration', () => {
  it('reads seconds, minutes, hours and days, and plain seconds', () => {
    expect(parseDuration('90s')).toBe(90);
    expect(parseDuration('15m')).toBe(900);
    expect(parseDuration('72h')).toBe(259_200);
    expect(parseDuration('30d')).toBe(2_592_000);
    expect(parseDuration('600')).toBe(600);
  });

  it('refuses anything else', () => {
    for (const bad of ['', 'h', '15 minutes', '-5m', '1.5h', '3w', '1e3'])
      expect(parseDuration(bad)).toBeNull();
  });
});

describe('parseSince', () => {
  const now = 1_750_000_000;
  it('counts a duration back from now', () => {
    expect(parseSince('72h', now)).toBe(now - 72 * 3600);
  });

  it('takes an ISO date as it is', () => {
    expect(parseSince('2025-06-01T00:00:00Z', now)).toBe(Date.UTC(2025, 5, 1) / 1000);
  });

  it('refuses what is neither', () => {
    expect(parseSince('yesterday', now)).toBeNull();
    expect(parseSince('2025-13-45', now)).toBeNull();
  });
});
