import type { Config } from '@oncehook/shared';

export const DAY_SECONDS = 24 * 60 * 60;

/**
 * How long a source remembers an event id. `DEDUPE_TTL_SECONDS_<SOURCE>` wins when set (`-` in a
 * source name is `_` in the variable). Otherwise the longer of DEDUPE_TTL_SECONDS and the
 * provider's own re-delivery window, so that lowering the global default can never open a gap
 * in which a provider's documented retry is processed twice.
 */
export function dedupeWindow(config: Config, source: string, providerWindowSeconds = 0): number {
  return (
    config.dedupeTtlBySource[source.replaceAll('-', '_')] ??
    Math.max(config.DEDUPE_TTL_SECONDS, providerWindowSeconds)
  );
}
