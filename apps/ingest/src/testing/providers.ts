import { parseIngestEnv } from '../env.ts';
import { createProviders } from '../providers/registry.ts';
import type { Provider } from '../verify/types.ts';

/**
 * The source `name` as an ingest with this environment would serve it; undefined when it would not.
 * Short secrets are allowed unless `env` says otherwise: tests name theirs for what they are.
 */
export function servedSource(name: string, env: Record<string, string> = {}): Provider | undefined {
  return createProviders(parseIngestEnv({ ALLOW_SHORT_SECRETS: '1', ...env })).get(name);
}

/** How a verifier sees a delivery posted to `/webhooks/<source>` through `app.request()`. */
export const addressedTo = (source: string) => ({
  url: `http://localhost/webhooks/${source}`,
  method: 'POST',
});
