import { z } from 'zod';

/**
 * Field schemas the workflows share. Everything a workflow keeps (in its markers, the ledger, an
 * email) has a length limit here, so an event cannot grow what oncehook stores without bound.
 */
const CURRENCIES = new Set(Intl.supportedValuesOf('currency'));

/** An ISO 4217 code, any case; upper-cased. `ZZZ` or `ABC` are refused, not charged. */
export const currency = z
  .string()
  .regex(/^[A-Za-z]{3}$/, 'must be a three-letter ISO 4217 code')
  .transform((c) => c.toUpperCase())
  .refine((c) => CURRENCIES.has(c), 'is not an ISO 4217 currency');

/** RFC 5321 allows at most 254 characters in a forward path. */
export const email = z.email().max(254);

/** Ids from providers (sessions, customers, payments). */
export const providerId = z.string().min(1).max(255);
