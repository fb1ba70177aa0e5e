import { createHmac } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { SIGNERS } from '@oncehook/ingest/sign';
import { CHAOS_SOURCE } from './workflows.ts';

export const STRIPE_SECRET = 'whsec_chaos';
const CHAOS_SECRET = 'chaos-secret';
const CHAOS_SIGNATURE = 'x-chaos-signature';

/** The shortest dedupe window a source may have: windows expire while the run goes on. */
export const SHORT_WINDOW_SECONDS = 60;

/** The dedupe window of each source the load sends to (demo keeps the default, 7 days). */
export const WINDOWS: Record<string, number> = {
  demo: 7 * 86_400,
  stripe: SHORT_WINDOW_SECONDS,
  [CHAOS_SOURCE]: SHORT_WINDOW_SECONDS,
};

/**
 * The custom source `chaos` (SOURCES_FILE): HMAC-SHA256 of the body in a header, the id and type
 * in the body, ordered by `data.account` at `created`, with a short window. Returns the
 * environment every process gets for it and for Stripe.
 */
export function sourcesEnv(dir: string): Record<string, string> {
  const file = join(dir, 'sources.json');
  const spec = {
    signature: { header: CHAOS_SIGNATURE, algorithm: 'sha256', encoding: 'hex' },
    eventId: { jsonPath: 'id' },
    eventType: { jsonPath: 'type' },
    orderingKey: { jsonPath: 'data.account' },
    orderingTime: { jsonPath: 'created' },
    dedupeTtlSeconds: SHORT_WINDOW_SECONDS,
  };
  writeFileSync(file, JSON.stringify({ sources: { [CHAOS_SOURCE]: spec } }, null, 2));
  return {
    SOURCES_FILE: file,
    CHAOS_WEBHOOK_SECRET: CHAOS_SECRET,
    STRIPE_WEBHOOK_SECRET: STRIPE_SECRET,
    DEDUPE_TTL_SECONDS_STRIPE: String(SHORT_WINDOW_SECONDS),
  };
}

/** The headers a delivery of `body` to `source` carries, signed now. */
export async function signedHeaders(source: string, body: string): Promise<Record<string, string>> {
  if (source === 'stripe') return SIGNERS.stripe({ body, secret: STRIPE_SECRET, id: '', nowMs: Date.now() });
  if (source === CHAOS_SOURCE)
    return { [CHAOS_SIGNATURE]: createHmac('sha256', CHAOS_SECRET).update(body).digest('hex') };
  return {};
}
