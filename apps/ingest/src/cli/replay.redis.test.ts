import { spawnSync } from 'node:child_process';
import { userInfo } from 'node:os';
import { eventTag } from '@oncehook/shared';
import { ROOT } from '@oncehook/testing';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createTestApp, type TestApp } from '../testing/app.ts';
import { failedAtCharge } from '../testing/dead-letters.ts';

let t: TestApp;
beforeEach(async () => {
  t = await createTestApp();
});
afterEach(async () => {
  await t.close();
});

/** `npm run replay -- …` as an operator runs it. */
const replay = (...args: string[]) => replayLogging('silent', ...args);
const replayLogging = (level: string, ...args: string[]) => {
  const run = spawnSync(process.execPath, ['--import', 'tsx', 'apps/ingest/src/cli/replay.ts', ...args], {
    cwd: ROOT,
    encoding: 'utf8',
    env: {
      ...process.env,
      REDIS_URL: t.config.REDIS_URL,
      QUEUE_PREFIX: t.config.QUEUE_PREFIX,
      LOG_LEVEL: level,
    },
    timeout: 60_000,
  });
  return { code: run.status, out: run.stdout, err: run.stderr };
};

describe('npm run replay', () => {
  it('replays one failed event, then says there is nothing more to do', async () => {
    await failedAtCharge(t, ['evt_cli']);
    const first = replay('--source', 'demo', '--event', 'evt_cli');
    expect(first.code, first.err).toBe(0);
    expect(JSON.parse(first.out)).toMatchObject({ kind: 'replayed', eventId: 'evt_cli', replays: 1 });
    expect(await (await t.jobOf('demo', 'evt_cli'))?.getState()).toBe('waiting');
    expect(await t.redis.hget(t.keys.event(eventTag('demo', 'evt_cli')), 'reruns')).toBe('1');

    const second = replay('--source', 'demo', '--event', 'evt_cli');
    expect(second.code).toBe(1);
    expect(JSON.parse(second.out)).toMatchObject({ kind: 'not_failed', state: 'queued' });
    const unknown = replay('--source', 'demo', '--event', 'evt_never');
    expect(unknown.code).toBe(1);
    expect(JSON.parse(unknown.out)).toMatchObject({ kind: 'not_found' });
  });

  it('replays the failed events since a time, and explains its usage when asked wrongly', async () => {
    await failedAtCharge(t, ['evt_c1', 'evt_c2']);
    const run = replay('--failed', '--since', '24h');
    expect(run.code, run.err).toBe(0);
    const report = JSON.parse(run.out);
    expect(report.replayed.map((r: { eventId: string }) => r.eventId).sort()).toEqual(['evt_c1', 'evt_c2']);
    expect(report.more).toBe(false);
    expect(await t.queue.getWaitingCount()).toBe(2);

    const wrong = replay('--failed', '--since', 'soon');
    expect(wrong.code).toBe(2);
    expect(wrong.err).toMatch(/usage: npm run replay -- /);
    const help = replay('--help');
    expect(help.code).toBe(0);
    expect(help.err).toMatch(/usage: npm run replay -- /);
  });

  it('logs every request to stderr, with who asked and what it answered, refusals included', async () => {
    await failedAtCharge(t, ['evt_logged']);
    const lines = (run: { err: string }) =>
      run.err
        .split('\n')
        .filter((l) => l.startsWith('{'))
        .map((l) => JSON.parse(l));
    const unknown = replayLogging('info', '--source', 'demo', '--event', 'evt_nobody');
    expect(JSON.parse(unknown.out)).toMatchObject({ kind: 'not_found' });
    const login = userInfo().username;
    expect(lines(unknown)).toContainEqual(
      expect.objectContaining({
        by: `cli:${login}`,
        via: 'cli',
        eventId: 'evt_nobody',
        outcome: 'not_found',
      }),
    );
    const bulk = replayLogging('info', '--failed');
    expect(lines(bulk)).toContainEqual(
      expect.objectContaining({ by: `cli:${login}`, via: 'cli', outcome: 'done', replayed: 1 }),
    );
  });
});
