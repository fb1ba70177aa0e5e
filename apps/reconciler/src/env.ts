import {
  baseEnv,
  type DynamicVariables,
  httpUrl,
  int,
  list,
  onConfigError,
  optional,
  parseDuration,
  parseEnv,
  withDefault,
} from '@oncehook/shared';
import { z } from 'zod';

const DAY = 24 * 60 * 60;

const duration = (min: number, max: number) =>
  z
    .string()
    .refine((v) => parseDuration(v) !== null, 'must be a duration such as 90s, 15m, 72h or 30d')
    .transform((v) => parseDuration(v) as number)
    .pipe(z.number().min(min, `must be at least ${min} s`).max(max, `must be at most ${max} s`));

export interface GithubHook {
  /** As configured: `owner/repo:id` or `org:id`. */
  name: string;
  /** The hook's API path, without the leading slash: `repos/acme/shop/hooks/42`. */
  path: string;
}

const HOOK = /^([A-Za-z0-9][A-Za-z0-9-]{0,38})(?:\/([A-Za-z0-9._-]{1,100}))?:(\d{1,20})$/;
const hooks = list(z.string().regex(HOOK, 'each hook is owner/repo:hook_id or org:hook_id')).transform(
  (names) =>
    names.map((name): GithubHook => {
      const [, owner, repo, id] = HOOK.exec(name) as RegExpExecArray;
      return { name, path: repo ? `repos/${owner}/${repo}/hooks/${id}` : `orgs/${owner}/hooks/${id}` };
    }),
);

/** The reconciler's environment: the only place it reads `process.env`. */
const shape = {
  ...baseEnv,
  /** The Stripe API base, as for the worker's charge step; Stripe itself unless set. */
  PAYMENTS_URL: withDefault(httpUrl, 'https://api.stripe.com'),
  PAYMENTS_API_KEY: optional(z.string().min(1)),
  STRIPE_SECRET_KEY: optional(z.string().min(1)),
  GITHUB_API_URL: withDefault(httpUrl, 'https://api.github.com'),
  GITHUB_TOKEN: optional(z.string().min(1)),
  GITHUB_HOOKS: optional(hooks),
  RECONCILE_INTERVAL: withDefault(duration(1, 7 * DAY), '15m'),
  /** How far back the first run looks, before any checkpoint exists. */
  RECONCILE_LOOKBACK: withDefault(duration(60, 30 * DAY), '72h'),
  /** A reconciler that dies holding a lock blocks the others this long at most. */
  RECONCILE_LOCK_SECONDS: withDefault(int(2, 3600), 60),
  /** `/metrics` and `/healthz` of `start:reconciler`; 0: no HTTP server. */
  RECONCILER_METRICS_PORT: withDefault(int(0, 65535), 9465),
};

// Stripe's conventional name for its key is accepted too; two different keys are a mistake.
const credentials: DynamicVariables<{ stripeKey?: string }> = (env, problem) => {
  const payments = env.PAYMENTS_API_KEY || undefined;
  const stripe = env.STRIPE_SECRET_KEY || undefined;
  if (payments && stripe && payments !== stripe)
    problem('PAYMENTS_API_KEY, STRIPE_SECRET_KEY: both are set, to different keys: set one');
  if (env.GITHUB_HOOKS && !env.GITHUB_TOKEN)
    problem('GITHUB_TOKEN: required when GITHUB_HOOKS is set (a token that may read and redeliver webhooks)');
  return { stripeKey: payments ?? stripe };
};

export const parseReconcilerEnv = (env: Record<string, string | undefined> = process.env) =>
  parseEnv(shape, env, credentials);

export type ReconcilerEnv = ReturnType<typeof parseReconcilerEnv>;

/** For `main.ts`: a bad configuration prints every problem and stops the process (exit 78). */
export const orExit = <T>(build: () => T): T => onConfigError(build, (code) => process.exit(code));
