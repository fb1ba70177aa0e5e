import { z } from 'zod';

/**
 * ADMIN_TOKENS, `alice:<token>,bob:<token>`: named operators' tokens, so that the logs say who
 * asked. A message about an entry names its position, never its text: an entry that cannot be
 * read may be a token pasted without its name.
 */
const NAME = /^[A-Za-z0-9._@-]{1,64}$/;

export const adminTokens = z.string().transform((list, ctx) => {
  const problem = (message: string) => ctx.addIssue({ code: 'custom', message });
  const tokens = list.split(',').map((entry, i) => {
    const at = entry.indexOf(':');
    return {
      entry: i + 1,
      name: at === -1 ? '' : entry.slice(0, at).trim(),
      token: at === -1 ? '' : entry.slice(at + 1).trim(),
    };
  });
  const names = new Map<string, number>();
  const seen = new Map<string, number>();
  for (const { entry, name, token } of tokens) {
    if (!NAME.test(name)) {
      problem(`entry ${entry}: each entry is name:token, the name letters, digits, . _ @ - (1-64)`);
      continue;
    }
    if (token.length < 8) problem(`entry ${entry}: the token must be at least 8 characters`);
    const namedBefore = names.get(name);
    if (namedBefore)
      problem(`entry ${entry}: "${name}" is named twice (entries ${namedBefore} and ${entry})`);
    const heldBefore = seen.get(token);
    // One token under two names: the logs would credit whichever came first.
    if (heldBefore && token)
      problem(`entry ${entry}: holds the same token as entry ${heldBefore}; give each operator their own`);
    names.set(name, entry);
    seen.set(token, entry);
  }
  return tokens.map(({ name, token }) => ({ name, token }));
});

/** ADMIN_TOKEN is the operator "admin": neither its name nor its token may appear in ADMIN_TOKENS. */
export function adminTokenClashes(env: {
  ADMIN_TOKEN?: string | undefined;
  ADMIN_TOKENS?: readonly { name: string; token: string }[] | undefined;
}): string[] {
  if (!env.ADMIN_TOKEN || !env.ADMIN_TOKENS) return [];
  const problems: string[] = [];
  for (const [i, { name, token }] of env.ADMIN_TOKENS.entries()) {
    if (name === 'admin')
      problems.push(`ADMIN_TOKENS: entry ${i + 1}: "admin" is ADMIN_TOKEN's name; choose another`);
    if (token === env.ADMIN_TOKEN)
      problems.push(
        `ADMIN_TOKENS: entry ${i + 1}: holds the same token as ADMIN_TOKEN; give each operator their own`,
      );
  }
  return problems;
}
