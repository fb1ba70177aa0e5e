import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseWorkerEnv } from '../env.ts';
import { loadDestinations } from './destinations-file.ts';

const SECRET = `whsec_${Buffer.from('a destination signing secret').toString('base64')}`;
const file = (content: unknown) => {
  const path = join(mkdtempSync(join(tmpdir(), 'destinations-')), 'destinations.json');
  writeFileSync(path, typeof content === 'string' ? content : JSON.stringify(content));
  return path;
};
const load = (content: unknown, env: Record<string, string> = { ORDERS_SECRET: SECRET }) => {
  const problems: string[] = [];
  const path = file(content);
  return { destinations: loadDestinations(path, env, (p) => problems.push(p)), problems, path };
};

describe('DESTINATIONS_FILE', () => {
  it('takes a destination in a few fields; the rest have defaults', () => {
    const { destinations, problems } = load([
      { name: 'orders-api', url: 'http://127.0.0.1:8080/hooks', secretEnv: 'ORDERS_SECRET' },
    ]);
    expect(problems).toEqual([]);
    expect(destinations).toMatchObject([
      {
        name: 'orders-api',
        sources: ['*'],
        types: ['*'],
        timeoutMs: 10_000,
        ordered: false,
        retryForHours: 24,
      },
    ]);
    expect(destinations[0]?.maxInFlight).toBeUndefined();
  });

  it('names the entry and the field of every problem', () => {
    const { problems, path } = load([
      { name: 'orders-api', url: 'ftp://x', secretEnv: 'ORDERS_SECRET' },
      { name: 'Bad Name', url: 'http://x', secretEnv: 'ORDERS_SECRET', maxInFlight: 0 },
      { name: 'ledger', url: 'http://x', secretEnv: 'LEDGER_SECRET' },
      { name: 'audit', url: 'http://x', secretEnv: 'ORDERS_SECRET', typo: true },
    ]);
    expect(problems).toEqual([
      `DESTINATIONS_FILE: ${path}: entry 1 ("orders-api"): url: must be an http:// or https:// URL`,
      `DESTINATIONS_FILE: ${path}: entry 2 ("Bad Name"): name: lower-case letters, digits, - and _ (at most 48), like a workflow`,
      `DESTINATIONS_FILE: ${path}: entry 2 ("Bad Name"): maxInFlight: Too small: expected number to be >=1`,
      `DESTINATIONS_FILE: ${path}: entry 3 ("ledger"): secretEnv: LEDGER_SECRET is not set`,
      `DESTINATIONS_FILE: ${path}: entry 4 ("audit"): entry: Unrecognized key: "typo"`,
    ]);
  });

  it('refuses a secret that is not one, and a file that is not a list', () => {
    const entry = { name: 'a', url: 'http://x', secretEnv: 'ORDERS_SECRET' };
    expect(load([entry], { ORDERS_SECRET: 'not base64!' }).problems).toEqual([
      expect.stringMatching(/secretEnv: ORDERS_SECRET holds no whsec_<base64> secret$/),
    ]);
    expect(load({ destinations: [] }).problems).toEqual([
      expect.stringMatching(/must be a JSON list of destinations$/),
    ]);
    expect(load('[{').problems).toEqual([expect.stringMatching(/cannot be read as JSON/)]);
  });

  it('is read with the worker environment, its problems reported with the other variables', () => {
    const path = file([{ name: 'a', url: 'nope', secretEnv: 'ORDERS_SECRET' }]);
    expect(() => parseWorkerEnv({ DESTINATIONS_FILE: path, WORKER_CONCURRENCY: 'lots' })).toThrow(
      /WORKER_CONCURRENCY[\s\S]*DESTINATIONS_FILE: .*entry 1 \("a"\): url/,
    );
  });
});
