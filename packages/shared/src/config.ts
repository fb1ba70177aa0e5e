import { z } from 'zod';

/**
 * The only place that reads `process.env`. Both apps parse the same schema at
 * start-up; a bad value stops the process with one message that names every
 * offending variable, instead of failing later on the first webhook.
 */

// An empty variable (`FOO=` in a .env file) means "unset", not "empty string".
const optional = <T extends z.ZodType>(schema: T) =>
  z.preprocess((v) => (v === '' ? undefined : v), schema.optional());
const withDefault = <T extends z.ZodType>(schema: T, fallback: z.input<T>) =>
  z.preprocess((v) => (v === '' || v === undefined ? fallback : v), schema);

const int = (min: number, max: number) => z.coerce.number().int().min(min).max(max);
const redisUrl = z.string().regex(/^rediss?:\/\/[^\s]+$/, 'must be a redis:// or rediss:// URL');
const httpUrl = z.string().regex(/^https?:\/\/[^\s]+$/, 'must be an http:// or https:// URL');
// Comma-separated so that a secret can be rotated: old and new are both accepted for a while.
const secrets = z
  .string()
  .transform((s) =>
    s
      .split(',')
      .map((x) => x.trim())
      .filter(Boolean),
  )
  .pipe(z.array(z.string()).min(1, 'must hold at least one secret'));

const schema = z.object({
  REDIS_URL: withDefault(redisUrl, 'redis://127.0.0.1:6379'),
  REDIS_CLUSTER_NODES: optional(
    z
      .string()
      .transform((s) =>
        s
          .split(',')
          .map((x) => x.trim())
          .filter(Boolean),
      )
      .pipe(z.array(z.string().regex(/^[^\s:]+:\d+$/, 'each node must be host:port')).min(1)),
  ),
  PORT: withDefault(int(1, 65535), 3000),
  QUEUE_PREFIX: withDefault(
    z.string().regex(/^[A-Za-z0-9_-]{1,64}$/, 'letters, digits, - and _ only (1-64)'),
    'oncehook',
  ),
  LOG_LEVEL: withDefault(z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']), 'info'),
  ADMIN_TOKEN: optional(z.string().min(8, 'must be at least 8 characters')),
  DEDUPE_TTL_SECONDS: withDefault(int(60, 60 * 60 * 24 * 365), 604800),
  MAX_BODY_BYTES: withDefault(int(1024, 64 * 1024 * 1024), 1048576),
  PAYMENTS_URL: optional(httpUrl),
  // The secret key sent to PAYMENTS_URL (a real Stripe needs one; test doubles accept any).
  PAYMENTS_API_KEY: optional(z.string().min(1)),
  MAILER_URL: optional(httpUrl),
  MAX_ATTEMPTS: withDefault(int(1, 1000), 8),
  BACKOFF_MS: withDefault(int(1, 24 * 60 * 60 * 1000), 1000),
  WORKER_CONCURRENCY: withDefault(int(1, 1000), 50),
  SIMULATE_CRASH: optional(z.string().regex(/^[A-Za-z0-9_.-]+$/, 'must be a step name, e.g. charge')),
  STRIPE_WEBHOOK_SECRET: optional(secrets),
  GITHUB_WEBHOOK_SECRET: optional(secrets),
  SHOPIFY_WEBHOOK_SECRET: optional(secrets),
  STANDARD_WEBHOOK_SECRET: optional(secrets),
  STANDARD_WEBHOOK_PUBLIC_KEY: optional(secrets),
  SLACK_SIGNING_SECRET: optional(secrets),
  DEMO_WEBHOOK_SECRET: optional(secrets),
  SOURCES_FILE: optional(z.string().min(1)),
});

export type Config = z.output<typeof schema> & {
  /** Per-source dedupe windows from `DEDUPE_TTL_SECONDS_<SOURCE>` (source lower-cased). */
  dedupeTtlBySource: Record<string, number>;
  /** Every `<NAME>_WEBHOOK_SECRET` (comma-separated), by variable name: custom sources' secrets. */
  webhookSecrets: Record<string, string[]>;
};

export class ConfigError extends Error {
  override name = 'ConfigError';
  constructor(readonly problems: string[]) {
    super(`Invalid configuration:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
  }
}

const TTL_OVERRIDE = /^DEDUPE_TTL_SECONDS_([A-Z0-9_]+)$/;
const WEBHOOK_SECRET = /^[A-Z][A-Z0-9_]*_WEBHOOK_SECRET$/;

export function parseConfig(env: Record<string, string | undefined> = process.env): Config {
  const problems: string[] = [];
  const result = schema.safeParse(env);
  if (!result.success) {
    for (const issue of result.error.issues) {
      const name = String(issue.path[0] ?? 'environment');
      const given = env[name];
      const shown = given === undefined || /SECRET|TOKEN|KEY/.test(name) ? '' : ` (got "${given}")`;
      problems.push(`${name}: ${issue.message}${shown}`);
    }
  }

  const dedupeTtlBySource: Record<string, number> = {};
  for (const [name, value] of Object.entries(env)) {
    const match = TTL_OVERRIDE.exec(name);
    if (!match?.[1] || value === undefined || value === '') continue;
    const parsed = int(60, 60 * 60 * 24 * 365).safeParse(value);
    if (parsed.success) dedupeTtlBySource[match[1].toLowerCase()] = parsed.data;
    else problems.push(`${name}: must be a whole number of seconds between 60 and 31536000 (got "${value}")`);
  }

  const webhookSecrets: Record<string, string[]> = {};
  for (const [name, value] of Object.entries(env)) {
    if (!WEBHOOK_SECRET.test(name) || name in schema.shape || value === undefined || value === '') continue;
    const parsed = secrets.safeParse(value);
    if (parsed.success) webhookSecrets[name] = parsed.data;
    else problems.push(`${name}: must hold at least one secret`);
  }

  if (problems.length > 0 || !result.success) throw new ConfigError(problems);
  return { ...result.data, dedupeTtlBySource, webhookSecrets };
}

/** For `main.ts`: runs a start-up step; a ConfigError is printed and stops the process. */
export function orExitOnConfigError<T>(build: () => T): T {
  try {
    return build();
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    console.error(err.message);
    process.exit(78); // EX_CONFIG
  }
}

/** For `main.ts`: parse or print the problems and exit, before anything connects. */
export function loadConfigOrExit(env: Record<string, string | undefined> = process.env): Config {
  return orExitOnConfigError(() => parseConfig(env));
}
