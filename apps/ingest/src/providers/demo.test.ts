import { describe, expect, it } from 'vitest';
import { SIGNERS } from '../testing/deliveries.ts';
import { addressedTo, servedSource } from '../testing/providers.ts';

const body = JSON.stringify({
  event_id: 'evt_demo',
  type: 'payment.succeeded',
  amount: 4999,
  currency: 'USD',
});
const verify = async (env: Record<string, string>, headers: Record<string, string> = {}) =>
  servedSource('demo', env)?.verify({
    ...addressedTo('demo'),
    rawBody: Buffer.from(body),
    headers: new Headers(headers),
    nowMs: Date.now(),
  });

describe('the demo source, safe by default', () => {
  it('takes unsigned deliveries for a first try', async () => {
    expect(await verify({})).toMatchObject({ ok: true, event: { id: 'evt_demo' } });
  });

  it('is not served at all with NODE_ENV=production and no secret', () => {
    expect(servedSource('demo', { NODE_ENV: 'production' })).toBeUndefined();
  });

  it('requires the signature whenever DEMO_WEBHOOK_SECRET is set, in production too', async () => {
    const envs: Record<string, string>[] = [
      { DEMO_WEBHOOK_SECRET: 'demo-secret' },
      { DEMO_WEBHOOK_SECRET: 'demo-secret', NODE_ENV: 'production' },
    ];
    for (const env of envs) {
      expect(await verify(env)).toMatchObject({ ok: false, reason: 'invalid_signature' });
      const signed = await SIGNERS.demo({ body, secret: 'demo-secret', id: '', nowMs: Date.now() });
      expect(await verify(env, signed)).toMatchObject({ ok: true });
    }
  });
});
