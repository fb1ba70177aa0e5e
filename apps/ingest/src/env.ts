import {
  baseEnv,
  ConfigError,
  flag,
  httpUrl,
  int,
  onConfigError,
  optional,
  parseEnv,
  withDefault,
} from '@oncehook/shared';
import { z } from 'zod';
import { adminTokenClashes, adminTokens } from './admin-tokens.ts';
import { secretVariables } from './env-secrets.ts';

/** The ingest's environment: the only place it reads `process.env`. */
const shape = {
  ...baseEnv,
  PORT: withDefault(int(1, 65535), 3000),
  ADMIN_TOKEN: optional(z.string().min(8, 'must be at least 8 characters')),
  /** Named operators' tokens, `alice:<token>,bob:<token>`: the logs then say who asked. */
  ADMIN_TOKENS: optional(adminTokens),
  /**
   * The dashboard's writes beyond retrying failed jobs: add a job (which no signature covers), edit
   * its data, clean, obliterate, promote, pause. Off: an operator retries dead letters, no more.
   */
  ADMIN_DASHBOARD_WRITE: flag('false'),
  /** GET /status without the admin credentials (its step results hold customers' data). */
  STATUS_PUBLIC: flag('false'),
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
  /**
   * `production` (any case; `prod` too) turns the unsigned demo source off (providers/demo.ts), puts
   * the demo's read routes behind the admin credentials, and requires PUBLIC_URL with Twilio.
   */
  NODE_ENV: withDefault(
    z.string().transform((v) => (/^\s*prod(uction)?\s*$/i.test(v) ? 'production' : v)),
    'development',
  ),
  /** Webhook secrets shorter than 16 bytes (env-secrets.ts): for test set-ups only. */
  ALLOW_SHORT_SECRETS: flag('0'),
  /** Twilio in production without PUBLIC_URL: the signed URL is then rebuilt from the Host header. */
  ALLOW_URL_FROM_HOST: flag('0'),
};

export const parseIngestEnv = (env: Record<string, string | undefined> = process.env) => {
  const parsed = parseEnv(shape, env, secretVariables);
  const problems = [...adminTokenClashes(parsed), ...productionChecks(parsed)];
  if (problems.length > 0) throw new ConfigError(problems);
  return parsed;
};

/**
 * Twilio signs the URL it requested. Without PUBLIC_URL that URL is rebuilt from the Host header,
 * which the client chooses: behind a proxy that terminates TLS every delivery fails, and a
 * delivery captured at another deployment with the same Auth Token verifies here.
 */
function productionChecks(env: {
  NODE_ENV: string;
  PUBLIC_URL?: string | undefined;
  ALLOW_URL_FROM_HOST: boolean;
  secrets: ReadonlyMap<string, string[]>;
}): string[] {
  if (env.NODE_ENV !== 'production' || env.PUBLIC_URL || env.ALLOW_URL_FROM_HOST) return [];
  if (!env.secrets.has('TWILIO_AUTH_TOKEN')) return [];
  return [
    "PUBLIC_URL: required with TWILIO_AUTH_TOKEN in production: Twilio signs the URL it requested, and without PUBLIC_URL it is rebuilt from the request's Host header, which the sender chooses (ALLOW_URL_FROM_HOST=1 starts anyway)",
  ];
}

export type IngestEnv = ReturnType<typeof parseIngestEnv>;

/** For `main.ts` (and the CLI): a bad configuration prints every problem and stops the process. */
export const orExit = <T>(build: () => T): T => onConfigError(build, (code) => process.exit(code));
