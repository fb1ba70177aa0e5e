import { Hono } from 'hono';
import { HTTPException } from 'hono/http-exception';
import { describe, expect, it } from 'vitest';
import { ApiError, ERRORS, type ErrorCode, toErrorResponse } from './errors.ts';

function appThrowing(err: Error) {
  const app = new Hono();
  app.get('/', () => {
    throw err;
  });
  app.onError(toErrorResponse);
  return app;
}

describe('the error list', () => {
  it('fixes each code’s status, and every error leaves in one JSON shape', async () => {
    for (const [code, status] of Object.entries(ERRORS) as [ErrorCode, number][]) {
      const err = new ApiError(code, `because ${code}`);
      expect(err).toBeInstanceOf(HTTPException);
      expect(err.status).toBe(status);
      const res = await appThrowing(err).request('/');
      expect(res.status).toBe(status);
      expect(await res.json()).toMatchObject({ error: { code, message: `because ${code}` } });
    }
  });

  it('gives Hono’s own exceptions a code from the list', async () => {
    const res = await appThrowing(new HTTPException(413, { message: 'too big' })).request('/');
    expect(res.status).toBe(413);
    expect(await res.json()).toMatchObject({ error: { code: 'payload_too_large' } });
  });

  it('answers anything else as internal, without its message', async () => {
    const res = await appThrowing(new Error('secret detail')).request('/');
    expect(res.status).toBe(500);
    const body = (await res.json()) as { error: { code: string } };
    expect(body.error.code).toBe('internal');
    expect(JSON.stringify(body)).not.toContain('secret detail');
  });
});
