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
import type { Provider, ProviderModule } from './types.ts';

/** Every built-in source, by name. Adding a provider is one file in this folder and one line here. */
export const PROVIDERS = {
  demo,
  stripe,
  github,
  shopify,
  slack,
  standard,
} satisfies Record<string, ProviderModule>;

/**
 * The sources this configuration serves: built-ins whose secrets are set (demo always), then the
 * custom sources of SOURCES_FILE. Throws ConfigError for a bad file or key.
 */
export function createProviders(env: IngestEnv): Map<string, Provider> {
  const live = new Map<string, Provider>();
  for (const [name, module] of Object.entries(PROVIDERS) as [string, ProviderModule][]) {
    const verifier = module.create(env);
    if (verifier)
      live.set(name, { ...verifier, dedupeTtlSeconds: dedupeWindow(env, name, module.windowSeconds) });
  }
  if (!env.SOURCES_FILE) return live;
  for (const [name, spec] of Object.entries(loadSourcesFile(env.SOURCES_FILE))) {
    if (Object.hasOwn(PROVIDERS, name)) {
      throw new ConfigError([`SOURCES_FILE: ${env.SOURCES_FILE}: "${name}" is a built-in source`]);
    }
    const verifier = customVerifier(name, spec, env);
    if (verifier)
      live.set(name, { ...verifier, dedupeTtlSeconds: dedupeWindow(env, name, spec.dedupeTtlSeconds) });
  }
  return live;
}
