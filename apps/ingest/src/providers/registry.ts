import { type Config, ConfigError, orExitOnConfigError } from '@oncehook/shared';
import { customProvider } from './custom.ts';
import { demo } from './demo.ts';
import { github } from './github.ts';
import { shopify } from './shopify.ts';
import { slack } from './slack.ts';
import { loadSourcesFile } from './sources-file.ts';
import { standard } from './standard.ts';
import { stripe } from './stripe.ts';
import type { Provider, ProviderFactory } from './types.ts';

/** Every built-in source. Adding a provider is one file in this folder and one line here. */
export const PROVIDERS = {
  demo,
  stripe,
  github,
  shopify,
  slack,
  standard,
} satisfies Record<string, ProviderFactory>;

/**
 * The sources this configuration serves: built-ins whose factory returned a provider, then the
 * custom sources of SOURCES_FILE. Throws ConfigError for a bad file or key.
 */
export function createProviders(config: Config): Map<string, Provider> {
  const live = new Map<string, Provider>();
  for (const [name, factory] of Object.entries(PROVIDERS)) {
    const provider = factory(config);
    if (provider) live.set(name, provider);
  }
  if (!config.SOURCES_FILE) return live;
  for (const [name, spec] of Object.entries(loadSourcesFile(config.SOURCES_FILE))) {
    if (Object.hasOwn(PROVIDERS, name)) {
      throw new ConfigError([`SOURCES_FILE: ${config.SOURCES_FILE}: "${name}" is a built-in source`]);
    }
    const provider = customProvider(name, spec, config);
    if (provider) live.set(name, provider);
  }
  return live;
}

/** For `main.ts`: like loadConfigOrExit, a bad SOURCES_FILE or key stops the process, named. */
export function createProvidersOrExit(config: Config): Map<string, Provider> {
  return orExitOnConfigError(() => createProviders(config));
}
