import { readFileSync } from 'node:fs';
import { ConfigError, SOURCE_NAME } from '@oncehook/shared';
import { z } from 'zod';

/**
 * SOURCES_FILE: custom sources for providers without a built-in file, read once at start-up.
 * A JSON object `{ "sources": { "<name>": <spec> } }`; see docs/providers.md for an example.
 */

const headerName = z.string().regex(/^[A-Za-z0-9-]+$/, 'must be an HTTP header name');
const locator = z.union([
  z.strictObject({
    jsonPath: z.string().regex(/^(\$\.)?[^.\s]+(\.[^.\s]+)*$/, 'must be a dotted path, e.g. data.id'),
  }),
  z.strictObject({ header: headerName }),
]);

const specSchema = z
  .strictObject({
    /** Defaults to `<NAME>_WEBHOOK_SECRET` (upper-cased, `-` as `_`); comma-separated for rotation. */
    secretEnv: z
      .string()
      .regex(/^[A-Z][A-Z0-9_]*_WEBHOOK_SECRET$/, 'must be an environment variable ending in _WEBHOOK_SECRET')
      .optional(),
    /**
     * How the secret is written in its variable: `text` (default, used as typed), `base64`, `hex`,
     * or `whsec` (`whsec_<base64>`, as Standard Webhooks senders show it; the prefix is optional).
     */
    secretEncoding: z.enum(['text', 'base64', 'hex', 'whsec']).default('text'),
    signature: z.strictObject({
      header: headerName,
      algorithm: z.enum(['sha1', 'sha256', 'sha512']).default('sha256'),
      encoding: z.enum(['hex', 'base64']).default('hex'),
      /** Text before the signature in the header, e.g. `sha256=`. */
      prefix: z.string().default(''),
      /** When the header may carry several signatures (the sender's own rotation), their separator. */
      separator: z.string().min(1).optional(),
      /** What is signed: `{body}`, optionally with `{timestamp}` and `{id}` (the id header). */
      signed: z.string().default('{body}'),
      timestamp: z
        .strictObject({
          header: headerName,
          unit: z.enum(['s', 'ms']).default('s'),
          toleranceSeconds: z.number().int().min(1).max(86_400).default(300),
        })
        .optional(),
    }),
    eventId: locator,
    eventType: locator.optional(),
    /** Per-object ordering: where the object's id is, and (optional) the event's creation time. */
    orderingKey: locator.optional(),
    orderingTime: locator.optional(),
    /** For providers whose ids are unique only per event type: the dedupe key becomes `<type>:<id>`. */
    idIncludesType: z.boolean().default(false),
    dedupeTtlSeconds: z
      .number()
      .int()
      .min(60)
      .max(365 * 86_400)
      .optional(),
  })
  .superRefine((spec, ctx) => {
    const { signed, timestamp } = spec.signature;
    const problem = (message: string) =>
      ctx.addIssue({ code: 'custom', path: ['signature', 'signed'], message });
    if (signed.split('{body}').length !== 2) problem('must contain {body} exactly once');
    if (signed.includes('{timestamp}') !== Boolean(timestamp)) {
      problem('must contain {timestamp} exactly when signature.timestamp is set');
    }
    if (signed.includes('{id}') && !('header' in spec.eventId)) {
      problem('{id} stands for the eventId header; eventId must then be a header');
    }
    if (spec.idIncludesType && !spec.eventType) {
      ctx.addIssue({ code: 'custom', path: ['idIncludesType'], message: 'needs eventType' });
    }
  });

const fileSchema = z.strictObject({
  sources: z.record(z.string().regex(SOURCE_NAME, 'source names: a-z, 0-9, - and _ (max 64)'), specSchema),
});

export type SourceSpec = z.output<typeof specSchema>;

/** Reads and validates the file; every problem is reported as one ConfigError naming SOURCES_FILE. */
export function loadSourcesFile(path: string): Record<string, SourceSpec> {
  const fail = (why: string): never => {
    throw new ConfigError([`SOURCES_FILE: ${path}: ${why}`]);
  };
  let text = '';
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    fail(`cannot be read (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    fail(`is not valid JSON (${(err as Error).message})`);
  }
  const parsed = fileSchema.safeParse(json);
  if (!parsed.success) {
    throw new ConfigError(
      parsed.error.issues.map(
        (issue) => `SOURCES_FILE: ${path}: ${issue.path.join('.') || '(top level)'}: ${issue.message}`,
      ),
    );
  }
  return parsed.data.sources;
}
