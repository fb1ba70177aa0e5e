import type { AcceptDeps } from '@oncehook/ingest/accept';
import { PROVIDERS } from '@oncehook/ingest/accept';
import { ConfigError, dedupeWindow, type Keys, type RedisClient } from '@oncehook/shared';
import type { ReconcilerEnv } from '../env.ts';
import type { ReconcileSource } from '../run.ts';
import { GITHUB_SOURCE, githubSource } from './github.ts';
import { githubHooksApi } from './github-hooks.ts';
import { STRIPE_SOURCE, stripeSource } from './stripe.ts';
import { stripeEventsApi } from './stripe-events.ts';

const { github, stripe } = PROVIDERS;

export const RECONCILED_SOURCES = [STRIPE_SOURCE, GITHUB_SOURCE] as const;
export type ReconciledSource = (typeof RECONCILED_SOURCES)[number];

/** What each source needs configured before it can be reconciled: for messages. */
export const NEEDS: Record<ReconciledSource, string> = {
  stripe: 'PAYMENTS_API_KEY (or STRIPE_SECRET_KEY)',
  github: 'GITHUB_HOOKS and GITHUB_TOKEN',
};

/**
 * The sources to reconcile: those asked for (all configured ones if none was), each of which must
 * be configured. Throws ConfigError naming what is missing.
 */
export function chooseSources(env: ReconcilerEnv, requested?: ReconciledSource[]): ReconciledSource[] {
  const configured = RECONCILED_SOURCES.filter((name) =>
    name === STRIPE_SOURCE ? Boolean(env.stripeKey) : Boolean(env.GITHUB_HOOKS && env.GITHUB_TOKEN),
  );
  if (!requested) {
    if (configured.length > 0) return configured;
    const all = RECONCILED_SOURCES.map((name) => `${NEEDS[name]} for ${name}`).join(', ');
    throw new ConfigError([`nothing to reconcile: set ${all}`]);
  }
  const missing = requested.filter((name) => !configured.includes(name));
  if (missing.length > 0)
    throw new ConfigError(missing.map((name) => `--source ${name}: set ${NEEDS[name]}`));
  return requested;
}

export function createSource(
  name: ReconciledSource,
  env: ReconcilerEnv,
  deps: { accept: AcceptDeps; redis: RedisClient; keys: Keys },
): ReconcileSource {
  if (name === STRIPE_SOURCE) {
    // The windows the ingest gives a delivery: the same rule, the same variables.
    const ttl = dedupeWindow(env, STRIPE_SOURCE, stripe.window.seconds);
    return stripeSource(stripeEventsApi(env.PAYMENTS_URL, env.stripeKey ?? ''), deps.accept, ttl);
  }
  const api = githubHooksApi(env.GITHUB_API_URL, env.GITHUB_TOKEN ?? '');
  const ttl = dedupeWindow(env, GITHUB_SOURCE, github.window.seconds);
  return githubSource(api, env.GITHUB_HOOKS ?? [], deps.redis, deps.keys, ttl);
}
