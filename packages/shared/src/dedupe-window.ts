import type { BaseEnv } from './env.ts';

export const HOUR_SECONDS = 60 * 60;
export const DAY_SECONDS = 24 * HOUR_SECONDS;

/**
 * How long a source remembers an event id: the one rule both apps follow. The ingest writes the
 * result into the event record; the worker reads it from there.
 *
 * `DEDUPE_TTL_SECONDS_<SOURCE>` wins when set (`-` in a source name is `_` in the variable).
 * Otherwise the longer of DEDUPE_TTL_SECONDS and the provider's own re-delivery window, so that
 * lowering the global default can never open a gap in which a provider's documented retry is
 * processed twice. The per-source variable is the operator's explicit choice, and wins even when
 * it is shorter than the provider's window.
 */
export function dedupeWindow(
  env: Pick<BaseEnv, 'DEDUPE_TTL_SECONDS' | 'dedupeTtlBySource'>,
  source: string,
  providerWindowSeconds = 0,
): number {
  return (
    env.dedupeTtlBySource.get(source.replaceAll('-', '_')) ??
    Math.max(env.DEDUPE_TTL_SECONDS, providerWindowSeconds)
  );
}
