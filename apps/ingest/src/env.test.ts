import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigError } from '@oncehook/shared';
import { describe, expect, it } from 'vitest';
import { parseIngestEnv } from './env.ts';
import { createProviders } from './providers/registry.ts';

/** The message a configuration stops the ingest with (what `orExit` prints), or '' when it starts. */
const refusal = (env: Record<string, string>) => {
  try {
    createProviders(parseIngestEnv(env));
    return '';
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    return err.message;
  }
};
const LONG = 'a-secret-of-24-characters';

describe('NODE_ENV', () => {
  it.each(['production', 'Production', 'PRODUCTION', 'prod', 'PROD', ' production '])(
    '"%s" is production: the unsigned demo source is off',
    (value) => {
      const env = parseIngestEnv({ NODE_ENV: value });
      expect(env.NODE_ENV).toBe('production');
      expect(createProviders(env).has('demo')).toBe(false);
    },
  );

  it.each(['development', 'test', 'staging'])('"%s" is not: the demo source is served', (value) => {
    expect(createProviders(parseIngestEnv({ NODE_ENV: value })).has('demo')).toBe(true);
  });
});

describe('webhook secrets', () => {
  it('refuses one shorter than 16 bytes, saying why and naming the variable, never the secret', () => {
    const message = refusal({ GITHUB_WEBHOOK_SECRET: 'hunter2' });
    expect(message).toMatch(/GITHUB_WEBHOOK_SECRET: the secret is shorter than 16 bytes/);
    expect(message).toMatch(/guess offline/);
    expect(message).not.toContain('hunter2');
    expect(refusal({ GITHUB_WEBHOOK_SECRET: LONG })).toBe('');
  });

  it('allows short ones with ALLOW_SHORT_SECRETS=1 (test set-ups)', () => {
    expect(refusal({ GITHUB_WEBHOOK_SECRET: 'x', ALLOW_SHORT_SECRETS: '1' })).toBe('');
    expect(refusal({ GITHUB_WEBHOOK_SECRET: 'x', ALLOW_SHORT_SECRETS: 'yes' })).toMatch(
      /ALLOW_SHORT_SECRETS/,
    );
  });

  it('says that "," separates rotated secrets when it cut one in two, and refuses an empty entry', () => {
    const cut = refusal({ STRIPE_WEBHOOK_SECRET: 'whsec_abcdef,ghijklmnop' });
    expect(cut).toMatch(/STRIPE_WEBHOOK_SECRET: secret 1 of 2 is shorter than 16 bytes/);
    expect(cut).toMatch(/a "," separates the secrets of a rotation/);
    expect(cut).not.toMatch(/abcdef|ghijkl/);
    for (const value of [`${LONG},`, `${LONG},,${LONG}`, `,${LONG}`]) {
      expect(refusal({ STRIPE_WEBHOOK_SECRET: value })).toMatch(
        /STRIPE_WEBHOOK_SECRET: secret \d of \d is empty/,
      );
    }
    expect(
      parseIngestEnv({ STRIPE_WEBHOOK_SECRET: `${LONG}, ${LONG}-new` }).secrets.get('STRIPE_WEBHOOK_SECRET'),
    ).toEqual([LONG, `${LONG}-new`]);
  });

  it("refuses a custom source whose secretEnv is another source's variable", () => {
    const dir = mkdtempSync(join(tmpdir(), 'oncehook-env-'));
    const spec = (secretEnv?: string) => ({
      ...(secretEnv ? { secretEnv } : {}),
      signature: { header: 'X-Sig' },
      eventId: { header: 'X-Id' },
    });
    const file = (sources: Record<string, unknown>) => {
      const path = join(dir, `${Object.keys(sources).join('-')}.json`);
      writeFileSync(path, JSON.stringify({ sources }));
      return path;
    };
    const stolen = refusal({ SOURCES_FILE: file({ acme: spec('STRIPE_WEBHOOK_SECRET') }) });
    expect(stolen).toMatch(
      /SOURCES_FILE: .*"acme": secretEnv STRIPE_WEBHOOK_SECRET is the secret of "stripe"/,
    );
    // Two custom sources on one variable: the second one's default name is the first one's.
    expect(refusal({ SOURCES_FILE: file({ beta: spec('ACME_WEBHOOK_SECRET'), acme: spec() }) })).toMatch(
      /secretEnv ACME_WEBHOOK_SECRET is the secret of "beta"/,
    );
    expect(refusal({ SOURCES_FILE: file({ acme: spec(), beta: spec() }) })).toBe('');
  });
});

describe('ADMIN_TOKENS', () => {
  it('never prints an entry it cannot read: it may be a token pasted without its name', () => {
    for (const value of [
      's3cret-token-without-a-name',
      'bad name:s3cret-token-value',
      'alice:ok-token-1,s3cret-token-xyz',
    ]) {
      const message = refusal({ ADMIN_TOKENS: value });
      expect(message).toMatch(/ADMIN_TOKENS: entry \d: each entry is name:token/);
      expect(message).not.toMatch(/s3cret/);
    }
  });

  it('refuses one token under two names, one name twice, and a clash with ADMIN_TOKEN', () => {
    expect(refusal({ ADMIN_TOKENS: 'alice:same-token-1,bob:same-token-1' })).toMatch(
      /entry 2: holds the same token as entry 1/,
    );
    expect(refusal({ ADMIN_TOKENS: 'alice:token-one-1,alice:token-two-2' })).toMatch(
      /"alice" is named twice/,
    );
    expect(refusal({ ADMIN_TOKEN: 'shared-token-1', ADMIN_TOKENS: 'alice:shared-token-1' })).toMatch(
      /ADMIN_TOKENS: entry 1: holds the same token as ADMIN_TOKEN/,
    );
    expect(refusal({ ADMIN_TOKEN: 'shared-token-1', ADMIN_TOKENS: 'admin:other-token-2' })).toMatch(
      /"admin" is ADMIN_TOKEN's name/,
    );
    for (const message of [
      refusal({ ADMIN_TOKENS: 'alice:same-token-1,bob:same-token-1' }),
      refusal({ ADMIN_TOKEN: 'shared-token-1', ADMIN_TOKENS: 'alice:shared-token-1' }),
    ])
      expect(message).not.toMatch(/same-token|shared-token/);
  });
});

describe('Twilio in production', () => {
  const twilio = { TWILIO_AUTH_TOKEN: '0123456789abcdef0123456789abcdef', NODE_ENV: 'Production' };

  it('refuses to start without PUBLIC_URL, naming it and saying why', () => {
    expect(refusal(twilio)).toMatch(/PUBLIC_URL: required with TWILIO_AUTH_TOKEN in production/);
    expect(refusal(twilio)).toMatch(/Host header/);
  });

  it('starts with PUBLIC_URL, with the opt-out, or outside production', () => {
    expect(refusal({ ...twilio, PUBLIC_URL: 'https://hooks.example.com' })).toBe('');
    expect(refusal({ ...twilio, ALLOW_URL_FROM_HOST: '1' })).toBe('');
    expect(refusal({ ...twilio, NODE_ENV: 'development' })).toBe('');
  });
});

it('ADMIN_DASHBOARD_WRITE is a flag, off by default; another value stops the start naming it', () => {
  expect(parseIngestEnv({}).ADMIN_DASHBOARD_WRITE).toBe(false);
  expect(parseIngestEnv({ ADMIN_DASHBOARD_WRITE: 'true' }).ADMIN_DASHBOARD_WRITE).toBe(true);
  expect(refusal({ ADMIN_DASHBOARD_WRITE: 'sometimes' })).toMatch(/ADMIN_DASHBOARD_WRITE/);
});
