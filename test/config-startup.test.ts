import { describe, expect, it } from 'vitest';
import { spawnApp } from './support/processes.ts';

describe('a bad configuration stops the process at start-up', () => {
  it.each(['ingest', 'worker'] as const)('%s exits naming every bad variable', async (app) => {
    const proc = spawnApp(app, { PORT: 'eighty', MAX_BODY_BYTES: '-1', REDIS_URL: 'http://nope' });
    const { code } = await proc.exited;
    expect(code).toBe(78);
    for (const name of ['PORT', 'MAX_BODY_BYTES', 'REDIS_URL']) expect(proc.output()).toContain(name);
  });
});
