import { readFileSync } from 'node:fs';
import { ConfigError } from './env.ts';

/** The ingest's built-in sources (its provider modules; a test holds the two lists together). */
export const BUILT_IN_SOURCES = [
  'demo',
  'stripe',
  'github',
  'shopify',
  'slack',
  'standard',
  'svix',
  'twilio',
] as const;

/**
 * The names of the custom sources in SOURCES_FILE (`{ "sources": { "<name>": … } }`). The ingest
 * validates the rest of each entry; the worker only needs to know which names exist.
 */
export function customSourceNames(path: string): string[] {
  try {
    const sources = (JSON.parse(readFileSync(path, 'utf8')) as { sources?: unknown }).sources;
    return sources && typeof sources === 'object' ? Object.keys(sources) : [];
  } catch (err) {
    throw new ConfigError([`SOURCES_FILE: ${path}: cannot be read as JSON (${(err as Error).message})`]);
  }
}
