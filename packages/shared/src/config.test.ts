import { describe, expect, it } from 'vitest';
import { ConfigError, parseConfig } from './config.ts';

describe('parseConfig', () => {
  it('gives the documented defaults for an empty environment', () => {
    const config = parseConfig({});
    expect(config).toMatchObject({
      REDIS_URL: 'redis://127.0.0.1:6379',
      PORT: 3000,
      QUEUE_PREFIX: 'oncehook',
      LOG_LEVEL: 'info',
      DEDUPE_TTL_SECONDS: 604800,
      MAX_BODY_BYTES: 1048576,
      MAX_ATTEMPTS: 8,
      BACKOFF_MS: 1000,
      WORKER_CONCURRENCY: 50,
    });
    expect(config.PAYMENTS_URL).toBeUndefined();
  });

  it('treats empty variables as unset', () => {
    expect(parseConfig({ PORT: '', REDIS_URL: '' }).PORT).toBe(3000);
  });

  it('names every bad variable in one error', () => {
    const env = { PORT: 'eighty', REDIS_URL: 'localhost:6379', MAX_ATTEMPTS: '0', LOG_LEVEL: 'loud' };
    let error: unknown;
    try {
      parseConfig(env);
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(ConfigError);
    const message = (error as ConfigError).message;
    for (const name of Object.keys(env)) expect(message).toContain(name);
    expect((error as ConfigError).problems).toHaveLength(4);
  });

  it('never echoes a secret back', () => {
    expect(() => parseConfig({ ADMIN_TOKEN: 'short' })).toThrow(/ADMIN_TOKEN/);
    try {
      parseConfig({ ADMIN_TOKEN: 'short' });
    } catch (err) {
      expect((err as Error).message).not.toContain('short"');
    }
  });

  it('splits comma-separated secrets for rotation', () => {
    expect(parseConfig({ STRIPE_WEBHOOK_SECRET: 'whsec_old, whsec_new' }).STRIPE_WEBHOOK_SECRET).toEqual([
      'whsec_old',
      'whsec_new',
    ]);
  });

  it('reads per-source dedupe windows and checks them', () => {
    expect(parseConfig({ DEDUPE_TTL_SECONDS_STRIPE: '259200' }).dedupeTtlBySource).toEqual({
      stripe: 259200,
    });
    expect(() => parseConfig({ DEDUPE_TTL_SECONDS_GITHUB: 'forever' })).toThrow(/DEDUPE_TTL_SECONDS_GITHUB/);
  });
});
