import type { Config } from '@oncehook/shared';
import { demo } from './demo.ts';
import type { Provider, ProviderFactory } from './types.ts';

/** Every built-in source. Adding a provider is one file in this folder and one line here. */
export const PROVIDERS = {
  demo,
} satisfies Record<string, ProviderFactory>;

/** The sources this configuration serves: those whose factory returned a provider. */
export function createProviders(config: Config): Map<string, Provider> {
  const live = new Map<string, Provider>();
  for (const [name, factory] of Object.entries(PROVIDERS)) {
    const provider = factory(config);
    if (provider) live.set(name, provider);
  }
  return live;
}
