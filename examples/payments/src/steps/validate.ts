import { PermanentError } from '@oncehook/worker';
import type { z } from 'zod';

/** Parses the event body; data that does not fit will never fit, so it fails the workflow at once. */
export function validate<T extends z.ZodType>(schema: T, body: unknown, what: string): z.output<T> {
  const parsed = schema.safeParse(body);
  if (parsed.success) return parsed.data;
  const problems = parsed.error.issues.map((i) => `${i.path.join('.') || '(body)'}: ${i.message}`);
  throw new PermanentError(`invalid ${what}: ${problems.join('; ')}`);
}
