import type { DynamicVariables } from '@oncehook/shared';
import { PROVIDER_LIST } from './providers/registry.ts';

/**
 * The webhook secrets: the built-in providers' variables, and `<NAME>_WEBHOOK_SECRET` for custom
 * sources. A variable holds one secret, or several separated by `,` while one is rotated (old and
 * new both verify): so a secret cannot contain a `,`, and an empty entry is refused rather than
 * dropped (`a,,b`, or a trailing `,`, usually means a secret was cut in two).
 *
 * Each secret needs 16 bytes at least: one captured delivery is enough to try keys offline, and a
 * short secret falls to that. `ALLOW_SHORT_SECRETS=1` lets test set-ups use short ones.
 * A message names the variable and the position of the secret, never its text.
 */
export const MIN_SECRET_BYTES = 16;

export const BUILT_IN_SECRETS: ReadonlySet<string> = new Set(PROVIDER_LIST.flatMap((p) => p.secretEnv));
const CUSTOM_SECRET = /^[A-Z][A-Z0-9_]*_WEBHOOK_SECRET$/;

export const secretVariables: DynamicVariables<{ secrets: ReadonlyMap<string, string[]> }> = (
  env,
  problem,
) => {
  const allowShort = /^(1|true)$/.test(env.ALLOW_SHORT_SECRETS ?? '');
  const found = new Map<string, string[]>();
  for (const [name, value] of Object.entries(env)) {
    if (!(BUILT_IN_SECRETS.has(name) || CUSTOM_SECRET.test(name)) || value === undefined || value === '')
      continue;
    const entries = value.split(',').map((s) => s.trim());
    const count = entries.length;
    const bad = entries.flatMap((secret, i) => {
      const which = count === 1 ? 'the secret' : `secret ${i + 1} of ${count}`;
      if (secret === '')
        return [
          `${name}: ${which} is empty (a "," separates the secrets of a rotation, old,new: a secret cannot contain one)`,
        ];
      if (!allowShort && Buffer.byteLength(secret) < MIN_SECRET_BYTES)
        return [
          `${name}: ${which} is shorter than ${MIN_SECRET_BYTES} bytes, which one captured delivery lets anyone guess offline${count > 1 ? ' (a "," separates the secrets of a rotation: a secret cannot contain one)' : ''}; use the provider's generated secret (ALLOW_SHORT_SECRETS=1 allows short ones, for tests)`,
        ];
      return [];
    });
    for (const p of bad) problem(p);
    if (bad.length === 0) found.set(name, entries);
  }
  return { secrets: found };
};
