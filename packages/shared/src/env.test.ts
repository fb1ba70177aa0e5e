import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { baseEnv, ConfigError, optional, parseEnv, secrets } from './env.ts';

const shape = { ...baseEnv, SOME_SECRET: optional(secrets), ADMIN_TOKEN: optional(z.string().min(8)) };
const parse = (env: Record<string, string>) => parseEnv(shape, env);

describe('parseEnv', () => {
  it('gives the documented defaults for an empty environment', () => {
    expect(parse({})).toMatchObject({
      REDIS_URL: 'redis://127.0.0.1:6379',
      QUEUE_PREFIX: 'oncehook',
      LOG_LEVEL: 'info',
      LOG_FORMAT: 'json',
      DEDUPE_TTL_SECONDS: 604800,
      MAX_ATTEMPTS: 8,
      BACKOFF_MS: 1000,
    });
  });

  it('treats empty variables as unset', () => {
    expect(parse({ QUEUE_PREFIX: '', REDIS_URL: '' }).QUEUE_PREFIX).toBe('oncehook');
  });

  it('names every bad variable in one error', () => {
    const env = { QUEUE_PREFIX: 'a:b', REDIS_URL: 'localhost:6379', MAX_ATTEMPTS: '0', LOG_LEVEL: 'loud' };
    let error: unknown;
    try {
      parse(env);
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(ConfigError);
    const message = (error as ConfigError).message;
    for (const name of Object.keys(env)) expect(message).toContain(name);
    expect((error as ConfigError).problems).toHaveLength(4);
  });

  it('never echoes a secret back', () => {
    expect(() => parse({ ADMIN_TOKEN: 'short' })).toThrow(/ADMIN_TOKEN/);
    try {
      parse({ ADMIN_TOKEN: 'short' });
    } catch (err) {
      expect((err as Error).message).not.toContain('short"');
    }
  });

  it('splits comma-separated secrets for rotation', () => {
    expect(parse({ SOME_SECRET: 'whsec_old, whsec_new' }).SOME_SECRET).toEqual(['whsec_old', 'whsec_new']);
    expect(() => parse({ SOME_SECRET: ' , ' })).toThrow(/SOME_SECRET: must hold at least one secret/);
  });

  it('reads per-source dedupe windows and checks them', () => {
    expect(parse({ DEDUPE_TTL_SECONDS_STRIPE: '259200' }).dedupeTtlBySource).toEqual(
      new Map([['stripe', 259200]]),
    );
    expect(() => parse({ DEDUPE_TTL_SECONDS_GITHUB: 'forever' })).toThrow(/DEDUPE_TTL_SECONDS_GITHUB/);
  });

  it('wants a Sentinel master name with sentinels, and not both sentinels and a cluster', () => {
    expect(() => parse({ REDIS_SENTINELS: 'a:26379' })).toThrow(
      /REDIS_SENTINEL_NAME: required with REDIS_SENTINELS/,
    );
    expect(() =>
      parse({ REDIS_SENTINELS: 'a:26379', REDIS_SENTINEL_NAME: 'm', REDIS_CLUSTER_NODES: 'b:7000' }),
    ).toThrow(/either it or REDIS_CLUSTER_NODES/);
    expect(parse({ REDIS_SENTINELS: 'a:26379,b:26379', REDIS_SENTINEL_NAME: 'm' }).REDIS_SENTINELS).toEqual([
      'a:26379',
      'b:26379',
    ]);
    expect(() => parse({ ACK_REPLICA_TIMEOUT_MS: '5000' })).toThrow(/ACK_REPLICA_TIMEOUT_MS/);
  });

  it('hands the variables without fixed names to the app, and collects their problems too', () => {
    const dynamic = (env: Record<string, string | undefined>, problem: (p: string) => void) => {
      if (env.ODD === 'bad') problem('ODD: is bad');
      return { odd: env.ODD };
    };
    expect(parseEnv(shape, { ODD: 'fine' }, dynamic).odd).toBe('fine');
    try {
      parseEnv(shape, { ODD: 'bad', MAX_ATTEMPTS: '0' }, dynamic);
      expect.unreachable();
    } catch (err) {
      expect((err as ConfigError).problems).toEqual([expect.stringMatching(/^MAX_ATTEMPTS/), 'ODD: is bad']);
    }
  });
});
