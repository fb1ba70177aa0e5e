import { readFileSync } from 'node:fs';
import { httpUrl } from '@oncehook/shared';
import { Webhook } from 'standardwebhooks';
import { z } from 'zod';
import { WORKFLOW_NAME } from '../engine/workflow.ts';

/**
 * DESTINATIONS_FILE: the HTTP services events are forwarded to, read once at start-up. A JSON
 * list; docs/forwarding.md shows one. Each destination becomes a workflow (destination.ts).
 */
const pattern = z.string().regex(/^[^\s]+$/, 'a name or a * pattern, without spaces');
const entrySchema = z.strictObject({
  name: z.string().regex(WORKFLOW_NAME, 'lower-case letters, digits, - and _ (at most 48), like a workflow'),
  url: httpUrl,
  /** `*` matches any run of characters, `.` and `/` included; absent: every source (type). */
  sources: z.array(pattern).min(1).default(['*']),
  types: z.array(pattern).min(1).default(['*']),
  /** The variable holding the signing secret (`whsec_<base64>`, as Standard Webhooks shows it). */
  secretEnv: z.string().regex(/^[A-Z][A-Z0-9_]*$/, 'must be an environment variable name'),
  timeoutMs: z.number().int().min(100).max(300_000).default(10_000),
  maxInFlight: z.number().int().min(1).max(100_000).optional(),
  ratePerSecond: z.number().int().min(1).max(100_000).optional(),
  ordered: z.boolean().default(false),
  /** Retryable failures are retried at least this long from the first request (replays start again). */
  retryForHours: z
    .number()
    .positive()
    .max(24 * 365)
    .default(24),
});

export type Destination = z.output<typeof entrySchema> & { signer: Webhook };

/** The file's destinations, each with its signer; every problem is reported naming entry and field. */
export function loadDestinations(
  path: string,
  env: Record<string, string | undefined>,
  problem: (p: string) => void,
): Destination[] {
  const at = (where: string, why: string) => problem(`DESTINATIONS_FILE: ${path}: ${where}${why}`);
  let json: unknown;
  try {
    json = JSON.parse(readFileSync(path, 'utf8'));
  } catch (err) {
    at('', `cannot be read as JSON (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`);
    return [];
  }
  if (!Array.isArray(json)) {
    at('', 'must be a JSON list of destinations');
    return [];
  }
  // Two destinations of one name (or one named like a workflow) are the registry's to refuse.
  return json.flatMap((entry: unknown, i) => {
    const name = (entry as { name?: unknown } | null)?.name;
    const where = `entry ${i + 1}${typeof name === 'string' ? ` ("${name}")` : ''}: `;
    const parsed = entrySchema.safeParse(entry);
    if (!parsed.success) {
      for (const issue of parsed.error.issues)
        at(where, `${issue.path.join('.') || 'entry'}: ${issue.message}`);
      return [];
    }
    const d = parsed.data;
    const secret = env[d.secretEnv];
    try {
      return [{ ...d, signer: new Webhook(secret ?? '') }];
    } catch {
      const why = secret ? 'holds no whsec_<base64> secret' : 'is not set';
      at(where, `secretEnv: ${d.secretEnv} ${why}`);
      return [];
    }
  });
}
