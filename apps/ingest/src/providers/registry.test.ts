import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { BUILT_IN_SOURCES, SOURCE_NAME } from '@oncehook/shared';
import { ROOT } from '@oncehook/testing';
import { describe, expect, it } from 'vitest';
import { withGeneratedTables } from '../../../../scripts/docs-tables.ts';
import { docsOf } from '../../../../scripts/provider-docs.ts';
import { parseIngestEnv } from '../env.ts';
import { exampleOf, signerOf } from '../testing/deliveries.ts';
import { servedSource } from '../testing/providers.ts';
import type { ProviderModule } from '../verify/types.ts';
import { PROVIDER_LIST, PROVIDERS } from './registry.ts';

const providers = PROVIDER_LIST as readonly ProviderModule[];
const HOUR = 3600;
const envFor = (p: ProviderModule, extra: Record<string, string> = {}) => ({
  [p.secretEnv[0] as string]: exampleOf(p.name).secret('registry'),
  ...extra,
});

describe('the provider registry', () => {
  it('serves the built-in sources the worker knows of (shared BUILT_IN_SOURCES)', () => {
    expect(providers.map((p) => p.name).sort()).toEqual([...BUILT_IN_SOURCES].sort());
  });

  it.each(providers)(
    '$name: one module carries its name, secrets and window; the tests have its fixture and signer',
    (p) => {
      expect(p.name).toMatch(SOURCE_NAME);
      expect(PROVIDERS[p.name as keyof typeof PROVIDERS]).toBe(p);
      expect(existsSync(join(ROOT, 'fixtures', exampleOf(p.name).fixture))).toBe(true);
      expect(signerOf(p.name)).toBeTypeOf('function');
      // Its variables are read by the ingest's environment, and serve it.
      for (const variable of p.secretEnv)
        expect(parseIngestEnv({ [variable]: 'x'.repeat(16) }).secrets.has(variable)).toBe(true);
      expect(servedSource(p.name, envFor(p))).toBeDefined();
      // The window says where it comes from.
      expect(p.window.seconds).toBeGreaterThanOrEqual(HOUR);
      if (p.name !== 'demo') expect(p.window.source).toMatch(/\]\(https:\/\/[^)]+\)/);
    },
  );

  it('keeps every provider its own window when the global default is lowered; a per-source override wins', () => {
    for (const p of providers) {
      const lowered = servedSource(p.name, envFor(p, { DEDUPE_TTL_SECONDS: String(HOUR) }));
      expect([p.name, lowered?.dedupeTtlSeconds]).toEqual([p.name, Math.max(HOUR, p.window.seconds)]);
      const variable = `DEDUPE_TTL_SECONDS_${p.name.toUpperCase()}`;
      const overridden = servedSource(p.name, envFor(p, { [variable]: '600' }));
      expect([p.name, overridden?.dedupeTtlSeconds]).toEqual([p.name, 600]);
    }
  });

  it('gives GitHub, Shopify and Slack windows that cover their documented re-deliveries', () => {
    const at = (name: string) =>
      servedSource(name, envFor(PROVIDERS[name as keyof typeof PROVIDERS], { DEDUPE_TTL_SECONDS: '3600' }));
    expect(at('shopify')?.dedupeTtlSeconds).toBeGreaterThanOrEqual(4 * HOUR); // 8 retries over 4 h
    expect(at('github')?.dedupeTtlSeconds).toBeGreaterThanOrEqual(7 * 24 * HOUR); // GHES: 7 days by hand
    expect(at('slack')?.dedupeTtlSeconds).toBeGreaterThanOrEqual(6 * 60); // retries over ~6 min
  });

  it('has docs/providers.md list every provider with its headers, id and window as the modules say', () => {
    const doc = readFileSync(join(ROOT, 'docs/providers.md'), 'utf8');
    expect(withGeneratedTables(doc), 'run pnpm docs:providers').toBe(doc);
    for (const p of providers) {
      expect(doc).toContain(`| \`${p.name}\``);
      for (const header of docsOf(p.name).requiredHeaders) expect(doc).toContain(`\`${header}\``);
    }
  });
});
