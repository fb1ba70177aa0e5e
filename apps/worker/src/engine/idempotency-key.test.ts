import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { idempotencyKey, MAX_IDEMPOTENCY_KEY } from './idempotency-key.ts';

describe('idempotencyKey', () => {
  it('is readable for short ASCII ids', () => {
    expect(idempotencyKey('demo', 'evt_001', 'payment', 'charge')).toBe('demo:evt_001:payment.charge');
  });

  it('hashes ids that are long, non-ASCII or could look hashed', () => {
    const long = idempotencyKey('demo', 'x'.repeat(256), 'payment', 'charge');
    expect(long).toMatch(/^demo:~[A-Za-z0-9_-]{43}:payment\.charge$/);
    expect(idempotencyKey('demo', 'paiement réussi', 'payment', 'charge')).toMatch(/^demo:~/);
    expect(idempotencyKey('demo', '~abc', 'payment', 'charge')).not.toBe('demo:~abc:payment.charge');
  });

  it('is stable, at most 255 visible ASCII characters, and distinct for distinct ids', () => {
    fc.assert(
      fc.property(
        fc.string({ unit: 'grapheme', minLength: 1, maxLength: 256 }),
        fc.string({ unit: 'grapheme', minLength: 1, maxLength: 256 }),
        (a, b) => {
          const ka = idempotencyKey('standard', a, 'some-workflow', 'receipt');
          expect(ka).toBe(idempotencyKey('standard', a, 'some-workflow', 'receipt'));
          expect(ka.length).toBeLessThanOrEqual(MAX_IDEMPOTENCY_KEY);
          expect(ka).toMatch(/^[\x21-\x7e]+$/);
          if (a !== b) expect(ka).not.toBe(idempotencyKey('standard', b, 'some-workflow', 'receipt'));
        },
      ),
    );
  });
});
