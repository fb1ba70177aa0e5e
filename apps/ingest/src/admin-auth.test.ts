import { Hono } from 'hono';
import { describe, expect, it } from 'vitest';
import { type AdminEnv, adminAuth, adminCredentials } from './admin-auth.ts';
import { parseIngestEnv } from './env.ts';
import { ApiError, toErrorResponse } from './errors.ts';
import { FailedAttempts } from './failed-attempts.ts';
import { capturedLog } from './testing/log.ts';

/** A route behind the admin auth that answers with the operator it was told. */
function guarded(credentials: Parameters<typeof adminAuth>[0], options?: Parameters<typeof adminAuth>[1]) {
  const app = new Hono<AdminEnv>();
  app.use('*', adminAuth(credentials, options));
  app.get('/who', (c) => c.text(c.get('operator')));
  app.onError((err, c) => (err instanceof ApiError ? toErrorResponse(err, c) : c.json({}, 500)));
  return app;
}
const bearer = (token: string) => ({ authorization: `Bearer ${token}` });
const basic = (token: string) => ({
  authorization: `Basic ${Buffer.from(`anyone:${token}`).toString('base64')}`,
});

describe('admin credentials', () => {
  const env = parseIngestEnv({
    ADMIN_TOKEN: 'the-shared-token',
    ADMIN_TOKENS: 'alice:alice-token-1,bob:bob-token-22',
  });
  const app = guarded(adminCredentials(env) ?? []);

  it('names the operator whose token was presented, by Bearer or Basic; ADMIN_TOKEN is "admin"', async () => {
    expect(await (await app.request('/who', { headers: bearer('alice-token-1') })).text()).toBe('alice');
    expect(await (await app.request('/who', { headers: basic('bob-token-22') })).text()).toBe('bob');
    expect(await (await app.request('/who', { headers: bearer('the-shared-token') })).text()).toBe('admin');
  });

  it('refuses any other token with 401 and WWW-Authenticate', async () => {
    for (const headers of [bearer('alice-token-2'), basic('bob-token-2'), {}]) {
      const res = await app.request('/who', { headers });
      expect(res.status).toBe(401);
      expect(res.headers.get('www-authenticate')).toContain('Basic');
    }
  });

  it('a plain ADMIN_TOKEN alone still works, as "admin"; none at all is no admin surface', async () => {
    const single = guarded('only-one-token');
    expect(await (await single.request('/who', { headers: bearer('only-one-token') })).text()).toBe('admin');
    expect(adminCredentials(parseIngestEnv({}))).toBeUndefined();
  });

  it('ADMIN_TOKENS that cannot be read stop the start, naming the variable and the entry', () => {
    for (const [value, says] of [
      ['alice', /"alice"|name:token/],
      ['alice:short', /at least 8/],
      ['alice:long-enough-1,alice:long-enough-2', /named twice/],
      ['bad name:long-enough-1', /name:token/],
    ] as const) {
      expect(() => parseIngestEnv({ ADMIN_TOKENS: value })).toThrow(/ADMIN_TOKENS/);
      expect(() => parseIngestEnv({ ADMIN_TOKENS: value })).toThrow(says);
    }
  });
});

describe('wrong admin tokens', () => {
  let now = 1_000_000;
  const setUp = () => {
    const captured = capturedLog();
    const app = guarded('the-right-token', { log: captured.log, failures: new FailedAttempts(() => now) });
    // The client's address, as @hono/node-server hands the socket to the app.
    const from = (address: string, token: string) =>
      app.request('/who', { headers: bearer(token) }, { incoming: { socket: { remoteAddress: address } } });
    return { captured, from };
  };

  it('are logged with the client’s address, never with the token presented', async () => {
    const { captured, from } = setUp();
    expect((await from('203.0.113.7', 'guess-number-1')).status).toBe(401);
    const [line] = captured.matching(/wrong token/);
    expect(line).toMatchObject({ address: '203.0.113.7', path: '/who', scheme: 'bearer', failures: 1 });
    expect(JSON.stringify(captured.lines)).not.toContain('guess-number-1');
  });

  it('close the address for a while after the first few, without comparing what it sends then', async () => {
    const { captured, from } = setUp();
    expect((await from('203.0.113.7', 'guess-1')).status).toBe(401);
    expect((await from('203.0.113.7', 'guess-2')).status).toBe(401);
    expect((await from('203.0.113.7', 'guess-3')).status).toBe(401);
    // Closed for a second: even the right token is not looked at (so parallel guesses learn nothing).
    const closed = await from('203.0.113.7', 'the-right-token');
    expect(closed.status).toBe(429);
    expect(closed.headers.get('retry-after')).toBe('1');
    expect(((await closed.json()) as { error: { code: string } }).error.code).toBe('too_many_attempts');
    // Another address is not slowed by this one's failures.
    expect(await (await from('198.51.100.2', 'the-right-token')).text()).toBe('admin');

    now += 1000;
    expect((await from('203.0.113.7', 'guess-4')).status).toBe(401);
    now += 1000;
    expect((await from('203.0.113.7', 'guess-5')).status).toBe(429);
    now += 1000;
    expect(await (await from('203.0.113.7', 'the-right-token')).text()).toBe('admin');
    // A success starts the address afresh; only refused attempts were logged, one line each.
    expect(await (await from('203.0.113.7', 'guess-6')).status).toBe(401);
    expect(await (await from('203.0.113.7', 'the-right-token')).text()).toBe('admin');
    expect(captured.matching(/wrong token/).map((l) => l.failures)).toEqual([1, 2, 3, 4, 1]);
  });

  it('cost no waiting: a closed address is answered at once, and the windows stop doubling at a minute', async () => {
    const failures = new FailedAttempts(() => now);
    for (let i = 0; i < 20; i++) failures.record('192.0.2.1');
    expect(failures.waitFor('192.0.2.1')).toBe(60_000);
    const { from } = setUp();
    for (let i = 0; i < 3; i++) await from('192.0.2.9', `guess-${i}`);
    const started = performance.now();
    expect((await from('192.0.2.9', 'guess-x')).status).toBe(429);
    expect(performance.now() - started).toBeLessThan(50);
  });
});
