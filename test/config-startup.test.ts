import { createServer } from 'node:net';
import {
  type AppProcess,
  adminHeaders,
  sleep,
  spawnApp,
  startIngest,
  startTestRedis,
} from '@oncehook/testing';
import { describe, expect, it } from 'vitest';

// Each app reads its own variables (apps/*/src/env.ts) on top of the shared ones.
const BAD = {
  ingest: { PORT: 'eighty', MAX_BODY_BYTES: '-1', REDIS_URL: 'http://nope' },
  worker: {
    WORKER_CONCURRENCY: 'lots',
    PAYMENTS_URL: 'ftp://x',
    REDIS_URL: 'http://nope',
    METRICS_PORT: 'nine',
    ALERT_WEBHOOK_URL: 'slack',
  },
};

describe('a bad configuration stops the process at start-up', () => {
  it.each(['ingest', 'worker'] as const)('%s exits naming every bad variable', async (app) => {
    const proc = spawnApp(app, BAD[app]);
    const { code } = await proc.exited;
    expect(code).toBe(78);
    for (const name of Object.keys(BAD[app])) expect(proc.output()).toContain(name);
  });

  it('a worker whose METRICS_PORT is taken stops, naming it', async () => {
    const taken = createServer();
    await new Promise<void>((resolve) => taken.listen(0, '127.0.0.1', resolve));
    try {
      const port = (taken.address() as { port: number }).port;
      const proc = spawnApp('worker', { METRICS_PORT: String(port), REDIS_URL: 'redis://127.0.0.1:1' });
      const { code } = await proc.exited;
      expect(code).toBe(78);
      expect(proc.output()).toMatch(/METRICS_PORT: cannot listen on \d+/);
    } finally {
      taken.close();
    }
  });

  it('an ingest whose PORT is taken stops, naming it and what to do', async () => {
    const taken = createServer();
    await new Promise<void>((resolve) => taken.listen(0, resolve));
    try {
      const port = (taken.address() as { port: number }).port;
      const proc = spawnApp('ingest', { PORT: String(port), REDIS_URL: 'redis://127.0.0.1:1' });
      const { code } = await proc.exited;
      expect(code).toBe(78);
      expect(proc.output()).toContain(`PORT: cannot listen on ${port} (another process listens on it)`);
      expect(proc.output()).toContain('set PORT to a free port');
      expect(proc.output()).not.toContain('EADDRINUSE');
    } finally {
      taken.close();
    }
  });

  it.each([
    [
      'Twilio in production without PUBLIC_URL',
      { TWILIO_AUTH_TOKEN: '0123456789abcdef0123456789abcdef', NODE_ENV: 'Production' },
      /PUBLIC_URL: required with TWILIO_AUTH_TOKEN in production/,
      '0123456789abcdef',
    ],
    [
      'a webhook secret shorter than 16 bytes',
      { GITHUB_WEBHOOK_SECRET: 'hunter2', ALLOW_SHORT_SECRETS: '0' },
      /GITHUB_WEBHOOK_SECRET: the secret is shorter than 16 bytes/,
      'hunter2',
    ],
    [
      'an ADMIN_TOKENS entry without a name',
      { ADMIN_TOKENS: 'pasted-token-without-name' },
      /ADMIN_TOKENS: entry 1: each entry is name:token/,
      'pasted-token',
    ],
  ])('the ingest stops (78) on %s, saying why, never printing the secret', async (_, env, says, secret) => {
    const proc = spawnApp('ingest', { ...env, REDIS_URL: 'redis://127.0.0.1:1' });
    const { code } = await proc.exited;
    expect(code).toBe(78);
    expect(proc.output()).toMatch(says);
    expect(proc.output()).not.toContain(secret);
  });

  it('the ingest’s /readyz says ready to anyone, and shows each start-up check of Redis to an admin', async () => {
    const redis = await startTestRedis();
    const ingest = await startIngest({ REDIS_URL: redis.url });
    try {
      expect(await (await fetch(`${ingest.base}/readyz`)).json()).toEqual({ ok: true });
      const ready = (await (await fetch(`${ingest.base}/readyz`, { headers: adminHeaders() })).json()) as {
        checks: Record<string, { ok: boolean; value: string }>;
      };
      const byCheck = Object.fromEntries(
        Object.entries(ready.checks).map(([name, result]) => [name.split('@')[0], result]),
      );
      expect(byCheck.version?.ok).toBe(true);
      expect(byCheck.eviction_policy).toEqual({ ok: true, value: 'noeviction' });
      // The test Redis persists nothing: a warning at start-up, a failing check here.
      expect(byCheck.persistence?.ok).toBe(false);
    } finally {
      ingest.kill();
      await ingest.exited;
      redis.stop();
    }
  });

  it('a second worker on the default METRICS_PORT serves its metrics on a free port instead', async () => {
    const redis = await startTestRedis();
    const env = { REDIS_URL: redis.url, METRICS_PORT: '', LOG_LEVEL: 'info' };
    const first = spawnApp('worker', env);
    const second = spawnApp('worker', env);
    try {
      const port = async (app: AppProcess) => {
        for (let i = 0; i < 100; i++) {
          const found = /worker metrics on :(\d+)/.exec(app.output())?.[1];
          if (found) return Number(found);
          await sleep(100);
        }
        throw new Error(`no metrics port in: ${app.output().slice(-1000)}`);
      };
      const ports = [await port(first), await port(second)];
      expect(new Set(ports).size).toBe(2);
      for (const p of ports) expect((await fetch(`http://127.0.0.1:${p}/healthz`)).status).toBe(200);
      expect(second.output() + first.output()).toContain('METRICS_PORT 9464 is taken');
    } finally {
      first.kill();
      second.kill();
      await Promise.all([first.exited, second.exited]);
      redis.stop();
    }
  });
});
