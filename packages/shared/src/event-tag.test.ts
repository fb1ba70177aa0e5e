import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { eventTag } from './event-tag.ts';

// BullMQ's own checks on custom job ids (job.ts): no ':' and not an integer.
const bullAccepts = (id: string) => !id.includes(':') && `${Number.parseInt(id, 10)}` !== id;

describe('eventTag', () => {
  it('gives ids BullMQ accepts and Redis hash tags can carry, for any event id', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'grapheme', minLength: 1, maxLength: 256 }), (eventId) => {
        const id = eventTag('demo', eventId);
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
          expect(eventTag(s1, e1)).not.toBe(eventTag(s2, e2));
        },
      ),
    );
  });

  it('handles the ids BullMQ would refuse as they are', () => {
    for (const eventId of ['123', '0', 'a:b', 'evt:1:2', '']) {
      expect(bullAccepts(eventTag('demo', eventId))).toBe(true);
    }
  });

  it('refuses source names that could break the encoding', () => {
    expect(() => eventTag('de.mo', 'x')).toThrow();
    expect(() => eventTag('Demo', 'x')).toThrow();
    expect(() => eventTag('', 'x')).toThrow();
  });
});
