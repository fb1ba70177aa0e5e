import { z } from 'zod';

/**
 * The environment both apps read, and the helpers each app's own `env.ts` builds its schema with.
 * Each app parses its whole environment once, at start-up, and a bad value stops it with one
 * message that names every offending variable, instead of failing later on the first webhook.
 * Nothing here reads `process.env` or exits: the apps' `env.ts` and `main.ts` do.
 */

// An empty variable (`FOO=` in a .env file) means "unset", not "empty string".
export const optional = <T extends z.ZodType>(schema: T) =>
  z.preprocess((v) => (v === '' ? undefined : v), schema.optional());
export const withDefault = <T extends z.ZodType>(schema: T, fallback: z.input<T>) =>
  z.preprocess((v) => (v === '' || v === undefined ? fallback : v), schema);
export const int = (min: number, max: number) => z.coerce.number().int().min(min).max(max);
export const httpUrl = z.string().regex(/^https?:\/\/[^\s]+$/, 'must be an http:// or https:// URL');
const redisUrl = z.string().regex(/^rediss?:\/\/[^\s]+$/, 'must be a redis:// or rediss:// URL');
export const list = (item: z.ZodString, empty = 'must hold at least one value') =>
  z
    .string()
    .transform((s) =>
      s
        .split(',')
        .map((x) => x.trim())
        .filter(Boolean),
    )
    .pipe(z.array(item).min(1, empty));

/** `1`/`true` or `0`/`false`, with a default. */
export const flag = (fallback: '0' | 'false') =>
  withDefault(
    z.enum(['0', '1', 'true', 'false']).transform((v) => v === '1' || v === 'true'),
    fallback,
  );

// Comma-separated so that a secret can be rotated: old and new are both accepted for a while.
export const secrets = list(z.string(), 'must hold at least one secret');

export const DEDUPE_TTL_RANGE = { min: 60, max: 365 * 24 * 60 * 60 } as const;

/** What both apps need: where Redis is, the key prefix, logging, the dedupe window, retries. */
export const baseEnv = {
  REDIS_URL: withDefault(redisUrl, 'redis://127.0.0.1:6379'),
  REDIS_CLUSTER_NODES: optional(list(z.string().regex(/^[^\s:]+:\d+$/, 'each node must be host:port'))),
  /** Sentinels (`host:port,…`) that name the primary `REDIS_SENTINEL_NAME`; REDIS_URL's credentials apply. */
  REDIS_SENTINELS: optional(list(z.string().regex(/^[^\s:]+:\d+$/, 'each sentinel must be host:port'))),
  REDIS_SENTINEL_NAME: optional(z.string().regex(/^[A-Za-z0-9._-]{1,64}$/, 'must be a Sentinel master name')),
  /**
   * Replicas that must hold a write before it is acknowledged (`WAIT`): a 200 then survives losing
   * the primary. 0: a 200 means the primary has it.
   */
  ACK_REPLICAS: withDefault(int(0, 16), 0),
  /** How long to wait for them before answering 503 (the provider retries). */
  ACK_REPLICA_TIMEOUT_MS: withDefault(int(10, 1000), 500),
  QUEUE_PREFIX: withDefault(
    z.string().regex(/^[A-Za-z0-9_-]{1,64}$/, 'letters, digits, - and _ only (1-64)'),
    'oncehook',
  ),
  /**
   * Partitions of each queue, each on its own Redis Cluster slot (partitions.ts): on a cluster,
   * the queues' load spreads over that many masters. Every process of a system uses one value;
   * changing it is safe (older partitions are drained, see docs/deployment.md).
   */
  QUEUE_PARTITIONS: withDefault(int(1, 16), 1),
  LOG_LEVEL: withDefault(z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']), 'info'),
  /** `pretty` for people (`npm start` sets it), JSON lines otherwise. */
  LOG_FORMAT: withDefault(z.enum(['json', 'pretty']), 'json'),
  DEDUPE_TTL_SECONDS: withDefault(int(DEDUPE_TTL_RANGE.min, DEDUPE_TTL_RANGE.max), 604800),
  MAX_ATTEMPTS: withDefault(int(1, 1000), 8),
  BACKOFF_MS: withDefault(int(1, 24 * 60 * 60 * 1000), 1000),
  /** How long completed jobs are kept (seconds), and how many per queue at most: for the dashboard. */
  COMPLETED_RETENTION: withDefault(int(0, DEDUPE_TTL_RANGE.max), 3600),
  COMPLETED_JOBS_KEPT: withDefault(int(0, 10_000_000), 1000),
  /** How long a failed job (a dead letter) is kept, replayable, in seconds; default: the event's window. */
  FAILED_RETENTION: optional(int(60, DEDUPE_TTL_RANGE.max)),
  /** Start even if Redis may evict keys (a shared Redis): exactly-once then does not hold. */
  ALLOW_EVICTION: flag('0'),
};

export type BaseEnv = z.output<z.ZodObject<typeof baseEnv>> & {
  /** Per-source dedupe windows from `DEDUPE_TTL_SECONDS_<SOURCE>` (source lower-cased). */
  dedupeTtlBySource: ReadonlyMap<string, number>;
};

export class ConfigError extends Error {
  override name = 'ConfigError';
  constructor(readonly problems: string[]) {
    super(`Invalid configuration:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
  }
}

/** Reads variables whose names are not fixed (`DEDUPE_TTL_SECONDS_STRIPE`, `ACME_WEBHOOK_SECRET`). */
export type DynamicVariables<X> = (
  env: Record<string, string | undefined>,
  problem: (p: string) => void,
) => X;

const TTL_OVERRIDE = /^DEDUPE_TTL_SECONDS_([A-Z0-9_]+)$/;

/** The Redis variables that only make sense together. */
function connectionChecks(env: Partial<z.output<z.ZodObject<typeof baseEnv>>>, problem: (p: string) => void) {
  if (env.REDIS_SENTINELS && !env.REDIS_SENTINEL_NAME) {
    problem(
      'REDIS_SENTINEL_NAME: required with REDIS_SENTINELS (the name the sentinels know the primary by)',
    );
  }
  if (env.REDIS_SENTINELS && env.REDIS_CLUSTER_NODES) {
    problem('REDIS_SENTINELS: set either it or REDIS_CLUSTER_NODES, not both');
  }
}

const dedupeOverrides: DynamicVariables<Pick<BaseEnv, 'dedupeTtlBySource'>> = (env, problem) => {
  const dedupeTtlBySource = new Map<string, number>();
  const { min, max } = DEDUPE_TTL_RANGE;
  for (const [name, value] of Object.entries(env)) {
    const source = TTL_OVERRIDE.exec(name)?.[1];
    if (!source || value === undefined || value === '') continue;
    const parsed = int(min, max).safeParse(value);
    if (parsed.success) dedupeTtlBySource.set(source.toLowerCase(), parsed.data);
    else problem(`${name}: must be a whole number of seconds between ${min} and ${max} (got "${value}")`);
  }
  return { dedupeTtlBySource };
};

/**
 * Parses `env` against `shape` (which includes `baseEnv`), plus the variables `dynamic` reads.
 * Throws one ConfigError listing every problem; a secret's value is never echoed back.
 */
export function parseEnv<S extends z.ZodRawShape, X extends object = object>(
  shape: S,
  env: Record<string, string | undefined>,
  dynamic?: DynamicVariables<X>,
): z.output<z.ZodObject<S>> & Pick<BaseEnv, 'dedupeTtlBySource'> & X {
  const problems: string[] = [];
  const result = z.object(shape).safeParse(env);
  if (!result.success) {
    for (const issue of result.error.issues) {
      const name = String(issue.path[0] ?? 'environment');
      const given = env[name];
      const shown = given === undefined || /SECRET|TOKEN|KEY/.test(name) ? '' : ` (got "${given}")`;
      problems.push(`${name}: ${issue.message}${shown}`);
    }
  }
  const problem = (p: string) => problems.push(p);
  if (result.success)
    connectionChecks(result.data as Partial<z.output<z.ZodObject<typeof baseEnv>>>, problem);
  const overrides = dedupeOverrides(env, problem);
  const extra = dynamic?.(env, problem) ?? ({} as X);
  if (problems.length > 0 || !result.success) throw new ConfigError(problems);
  return { ...result.data, ...overrides, ...extra };
}

/**
 * Runs a start-up step (parsing the env, loading a sources file). A ConfigError is printed and
 * `exit` called with 78 (EX_CONFIG): the app's main decides what exiting means, not this package.
 */
export function onConfigError<T>(build: () => T, exit: (code: number) => never): T {
  try {
    return build();
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    console.error(err.message);
    return exit(78);
  }
}
