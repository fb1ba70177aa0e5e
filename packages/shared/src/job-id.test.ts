import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { jobIdFor, parseJobId } from './job-id.ts';

// BullMQ's own checks on custom job ids (job.ts): no ':' and not an integer.
const bullAccepts = (id: string) => !id.includes(':') && `${Number.parseInt(id, 10)}` !== id;

describe('jobIdFor', () => {
  it('gives ids BullMQ accepts and Redis hash tags can carry, for any event id', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'grapheme', minLength: 1, maxLength: 256 }), (eventId) => {
        const id = jobIdFor('demo', eventId);
        expect(bullAccepts(id)).toBe(true);
        expect(id).not.toMatch(/[{}:\s]/);
      }),
    );
  });

  it('is injective: different (source, event id) pairs never share an id', () => {
    fc.assert(
      fc.property(
        fc.constantFrom('demo', 'stripe', 'github', 'a-b'),
        fc.string({ unit: 'grapheme', maxLength: 40 }),
        fc.constantFrom('demo', 'stripe', 'github', 'a-b'),
        fc.string({ unit: 'grapheme', maxLength: 40 }),
        (s1, e1, s2, e2) => {
          fc.pre(s1 !== s2 || e1 !== e2);
          expect(jobIdFor(s1, e1)).not.toBe(jobIdFor(s2, e2));
        },
      ),
    );
  });

  it('round-trips', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'grapheme', maxLength: 256 }), (eventId) => {
        expect(parseJobId(jobIdFor('stripe', eventId))).toEqual({ source: 'stripe', eventId });
      }),
    );
  });

  it('handles the ids BullMQ would refuse as they are', () => {
    for (const eventId of ['123', '0', 'a:b', 'evt:1:2', '']) {
      expect(bullAccepts(jobIdFor('demo', eventId))).toBe(true);
    }
  });

  it('refuses source names that could break the encoding', () => {
    expect(() => jobIdFor('de.mo', 'x')).toThrow();
    expect(() => jobIdFor('Demo', 'x')).toThrow();
    expect(() => jobIdFor('', 'x')).toThrow();
  });
});
