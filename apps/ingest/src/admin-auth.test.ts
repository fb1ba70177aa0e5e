import { Hono } from 'hono';
import { describe, expect, it } from 'vitest';
import { type AdminEnv, adminAuth, adminCredentials } from './admin-auth.ts';
import { parseIngestEnv } from './env.ts';
import { ApiError } from './errors.ts';

/** A route behind the admin auth that answers with the operator it was told. */
function guarded(credentials: Parameters<typeof adminAuth>[0]) {
  const app = new Hono<AdminEnv>();
  app.use('*', adminAuth(credentials));
  app.get('/who', (c) => c.text(c.get('operator')));
  app.onError((err, c) => c.json({ code: (err as ApiError).code }, err instanceof ApiError ? 401 : 500));
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
