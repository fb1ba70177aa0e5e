import { z } from 'zod';

/**
 * The example's own variables, beside the worker's (which `runWorker` reads). A bad value stops
 * the process at start-up naming it, as oncehook's own variables do.
 */
const url = z.string().regex(/^https?:\/\/\S+$/, 'must be an http:// or https:// URL');
const schema = z.object({
  /** A Stripe-compatible API (Stripe itself, or a test double); unset: a simulator in Redis. */
  PAYMENTS_URL: url.optional(),
  /** The secret key sent to PAYMENTS_URL (a real Stripe needs one; test doubles accept any). */
  PAYMENTS_API_KEY: z.string().min(1).optional(),
  /** The mail API the receipts go to; unset: a simulator that logs them. */
  MAILER_URL: url.optional(),
  /** A step that fails after its effect and before its marker, on its first attempt (the demo's crash). */
  SIMULATE_CRASH: z
    .string()
    .regex(/^[a-z0-9_-]+$/, 'must be a step name, e.g. charge')
    .optional(),
});

export type DemoEnv = z.output<typeof schema>;

/** The example's variables, or what is wrong with them (runWorker reports it with its own). */
export function readDemoEnv(env: Record<string, string | undefined> = process.env): {
  env: DemoEnv;
  problems: string[];
} {
  // An empty variable (`FOO=` in a .env file) is unset.
  const given = Object.fromEntries(Object.keys(schema.shape).map((k) => [k, env[k] || undefined]));
  const parsed = schema.safeParse(given);
  if (parsed.success) return { env: parsed.data, problems: [] };
  const problems = parsed.error.issues.map((i) => {
    const name = String(i.path[0]);
    const shown = /KEY|SECRET|TOKEN/.test(name) ? '' : ` (got "${env[name]}")`;
    return `${name}: ${i.message}${shown}`;
  });
  return { env: {}, problems };
}

/** For tests: the example's variables, which must be right. */
export function parseDemoEnv(env: Record<string, string | undefined> = {}): DemoEnv {
  const read = readDemoEnv(env);
  if (read.problems.length > 0) throw new Error(read.problems.join('; '));
  return read.env;
}
