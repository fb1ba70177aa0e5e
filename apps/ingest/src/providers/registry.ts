import { ConfigError, dedupeWindow } from '@oncehook/shared';
import { customSecretEnv, customVerifier } from '../custom-sources/custom.ts';
import { loadSourcesFile } from '../custom-sources/sources-file.ts';
import type { IngestEnv } from '../env.ts';
import type { Provider, ProviderModule } from '../verify/types.ts';
import { demo } from './demo.ts';
import { github } from './github.ts';
import { shopify } from './shopify.ts';
import { slack } from './slack.ts';
import { standard } from './standard.ts';
import { stripe } from './stripe.ts';
import { svix } from './svix.ts';
import { twilio } from './twilio.ts';

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

/** The sources served, by name; `unserved`: the others this ingest knows, with the secret each lacks. */
export type Providers = Map<string, Provider> & { unserved: Map<string, string> };

/**
 * The sources this configuration serves: built-ins whose secrets are set (demo always), then the
 * custom sources of SOURCES_FILE. Throws ConfigError for a bad file or key.
 */
export function createProviders(env: IngestEnv): Providers {
  const live = Object.assign(new Map<string, Provider>(), { unserved: new Map<string, string>() });
  for (const module of PROVIDER_LIST as readonly ProviderModule[]) {
    const verifier = module.create(env);
    if (!verifier) live.unserved.set(module.name, module.secretEnv.join(' or '));
    else
      live.set(module.name, {
        ...verifier,
        dedupeTtlSeconds: dedupeWindow(env, module.name, module.window.seconds),
      });
  }
  if (!env.SOURCES_FILE) return live;
  // One secret per source: a variable shared with another source would let a delivery captured
  // for one be replayed to the other.
  const secretOwner = new Map<string, string>(
    PROVIDER_LIST.flatMap((p) => p.secretEnv.map((v) => [v, p.name] as const)),
  );
  for (const [name, spec] of Object.entries(loadSourcesFile(env.SOURCES_FILE))) {
    const fail = (why: string) => new ConfigError([`SOURCES_FILE: ${env.SOURCES_FILE}: ${why}`]);
    if (isProviderName(name)) throw fail(`"${name}" is a built-in source`);
    const variable = customSecretEnv(name, spec);
    const owner = secretOwner.get(variable);
    if (owner)
      throw fail(`"${name}": secretEnv ${variable} is the secret of "${owner}"; give each source its own`);
    secretOwner.set(variable, name);
    const verifier = customVerifier(name, spec, env);
    if (!verifier) live.unserved.set(name, variable);
    else live.set(name, { ...verifier, dedupeTtlSeconds: dedupeWindow(env, name, spec.dedupeTtlSeconds) });
  }
  return live;
}
