import {
  baseEnv,
  type DynamicVariables,
  httpUrl,
  int,
  onConfigError,
  optional,
  parseEnv,
  secrets as secretList,
  withDefault,
} from '@oncehook/shared';
import { z } from 'zod';
import { PROVIDER_LIST } from './providers/registry.ts';

/** The ingest's environment: the only place it reads `process.env`. */
const shape = {
  ...baseEnv,
  PORT: withDefault(int(1, 65535), 3000),
  ADMIN_TOKEN: optional(z.string().min(8, 'must be at least 8 characters')),
  /** Named operators' tokens, `alice:<token>,bob:<token>`: the logs then say who asked. */
  ADMIN_TOKENS: optional(
    z.string().transform((list, ctx) => {
      const tokens = list.split(',').map((entry) => {
        const at = entry.indexOf(':');
        // No colon: the whole entry is taken as a name, which then fails the check below.
        return at === -1
          ? { name: `${entry.trim()} (no token)`, token: '' }
          : { name: entry.slice(0, at).trim(), token: entry.slice(at + 1).trim() };
      });
      const names = new Set<string>();
      for (const { name, token } of tokens) {
        if (!/^[A-Za-z0-9._@-]{1,64}$/.test(name))
          ctx.addIssue({
            code: 'custom',
            message: `"${name}": each entry is name:token, the name letters, digits, . _ @ -`,
          });
        else if (token.length < 8)
          ctx.addIssue({ code: 'custom', message: `the token of "${name}" must be at least 8 characters` });
        else if (names.has(name)) ctx.addIssue({ code: 'custom', message: `"${name}" is named twice` });
        names.add(name);
      }
      return tokens;
    }),
  ),
  /** GET /status without the admin credentials (its step results hold customers' data). */
  STATUS_PUBLIC: withDefault(
    z.enum(['0', '1', 'true', 'false']).transform((v) => v === '1' || v === 'true'),
    'false',
  ),
  MAX_BODY_BYTES: withDefault(int(1024, 64 * 1024 * 1024), 1048576),
  /** Ingest processes on this machine, sharing PORT (node:cluster). */
  INGEST_PROCESSES: withDefault(int(1, 256), 1),
  SOURCES_FILE: optional(z.string().min(1)),
  /**
   * The URL providers are configured with, up to `/webhooks/…` (e.g. `https://hooks.example.com`):
   * what URL-signing schemes (Twilio) signed, behind a proxy that terminates TLS or strips a path.
   */
  PUBLIC_URL: optional(httpUrl.refine((url) => !/[?#]/.test(url), 'must not have a query or fragment')),
  // Providers wait 3-10 s for an answer: a request that takes longer to arrive is not a delivery.
  HTTP_HEADERS_TIMEOUT_MS: withDefault(int(1000, 120_000), 10_000),
  HTTP_REQUEST_TIMEOUT_MS: withDefault(int(1000, 600_000), 30_000),
  HTTP_KEEP_ALIVE_TIMEOUT_MS: withDefault(int(1000, 600_000), 5_000),
  HTTP_MAX_CONNECTIONS: withDefault(int(1, 1_000_000), 10_000),
  /** How long a connection closed on a client still sending reads on (unread-request.ts). */
  HTTP_LINGER_MS: withDefault(int(100, 60_000), 5_000),
  /** `production` turns the unsigned demo source off (see providers/demo.ts). */
  NODE_ENV: withDefault(z.string(), 'development'),
};

// The built-in providers' variables, and `<NAME>_WEBHOOK_SECRET` for custom sources.
const BUILT_IN_SECRETS = new Set(PROVIDER_LIST.flatMap((p) => p.secretEnv));
const CUSTOM_SECRET = /^[A-Z][A-Z0-9_]*_WEBHOOK_SECRET$/;

const secretVariables: DynamicVariables<{ secrets: ReadonlyMap<string, string[]> }> = (env, problem) => {
  const found = new Map<string, string[]>();
  for (const [name, value] of Object.entries(env)) {
    if (!(BUILT_IN_SECRETS.has(name) || CUSTOM_SECRET.test(name)) || value === undefined || value === '')
      continue;
    const parsed = secretList.safeParse(value);
    if (parsed.success) found.set(name, parsed.data);
    else problem(`${name}: must hold at least one secret`);
  }
  return { secrets: found };
};

export const parseIngestEnv = (env: Record<string, string | undefined> = process.env) =>
  parseEnv(shape, env, secretVariables);

export type IngestEnv = ReturnType<typeof parseIngestEnv>;

/** For `main.ts` (and the CLI): a bad configuration prints every problem and stops the process. */
export const orExit = <T>(build: () => T): T => onConfigError(build, (code) => process.exit(code));
