import { ConfigError, dedupeWindow } from '@oncehook/shared';
import type { IngestEnv } from '../env.ts';
import { customVerifier } from './custom.ts';
import { demo } from './demo.ts';
import { github } from './github.ts';
import { shopify } from './shopify.ts';
import { slack } from './slack.ts';
import { loadSourcesFile } from './sources-file.ts';
import { standard } from './standard.ts';
import { stripe } from './stripe.ts';
import { svix } from './svix.ts';
import { twilio } from './twilio.ts';
import type { Provider, ProviderModule } from './types.ts';

/**
 * Every built-in provider. Adding one is one file in this folder, one fixture, and one entry here:
 * the ingest's environment (its secret variables), the signing CLI, the docs' table and the
 * provider tests all come from this list.
 */
export const PROVIDER_LIST = [demo, stripe, github, shopify, slack, standard, svix, twilio] as const;

export type ProviderName = (typeof PROVIDER_LIST)[number]['name'];

/** The same, by name. */
export const PROVIDERS = Object.fromEntries(PROVIDER_LIST.map((p) => [p.name, p])) as {
  readonly [P in (typeof PROVIDER_LIST)[number] as P['name']]: P;
};

export const isProviderName = (name: string): name is ProviderName => Object.hasOwn(PROVIDERS, name);

/**
 * The sources this configuration serves: built-ins whose secrets are set (demo always), then the
 * custom sources of SOURCES_FILE. Throws ConfigError for a bad file or key.
 */
export function createProviders(env: IngestEnv): Map<string, Provider> {
  const live = new Map<string, Provider>();
  for (const module of PROVIDER_LIST as readonly ProviderModule[]) {
    const verifier = module.create(env);
    if (verifier)
      live.set(module.name, {
        ...verifier,
        dedupeTtlSeconds: dedupeWindow(env, module.name, module.window.seconds),
      });
  }
  if (!env.SOURCES_FILE) return live;
  for (const [name, spec] of Object.entries(loadSourcesFile(env.SOURCES_FILE))) {
    if (isProviderName(name)) {
      throw new ConfigError([`SOURCES_FILE: ${env.SOURCES_FILE}: "${name}" is a built-in source`]);
    }
    const verifier = customVerifier(name, spec, env);
    if (verifier)
      live.set(name, { ...verifier, dedupeTtlSeconds: dedupeWindow(env, name, spec.dedupeTtlSeconds) });
  }
  return live;
}
