import { SIGNERS } from '@oncehook/ingest/sign';
import {
  type FakeGithub,
  fetchStatus,
  type GithubEvent,
  postJson,
  type System,
  spawnApp,
  startFakeGithub,
  startSystem,
  waitFor,
} from '@oncehook/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

/**
 * `npm run reconcile -- --source github`, end to end: a fake GitHub lists a repository hook's
 * deliveries (pages of 3) and, when asked, redelivers an event — signed, with its original
 * X-GitHub-Delivery — to a real ingest, whose worker runs the github-push workflow.
 */
const SECRET = 'gh-e2e-reconcile';
const TOKEN = 'ghp_e2e';
const HOOK = 'repos/acme/shop/hooks/42';
const MIN = 60_000;

let sys: System;
let github: FakeGithub;
beforeAll(async () => {
  sys = await startSystem({ workers: 1, env: { GITHUB_WEBHOOK_SECRET: SECRET } });
  github = await startFakeGithub({ token: TOKEN, deliver: toIngest });
  github.addHook(HOOK);
  github.settings.pageSize = 3;
});
afterAll(async () => {
  await github?.close();
  await sys?.stop();
});

async function toIngest(e: GithubEvent) {
  const headers = await SIGNERS.github({
    body: e.payload,
    secret: SECRET,
    id: e.guid,
    event: e.event,
    nowMs: 0,
  });
  return (await postJson(`${sys.base}/webhooks/github`, e.payload, headers)).status;
}
const push = (guid: string): GithubEvent => ({
  guid,
  event: 'push',
  payload: JSON.stringify({ ref: `refs/heads/${guid}`, repository: { full_name: 'acme/shop' }, commits: [] }),
});
const reconcile = async (args: string[] = []) => {
  const env = {
    REDIS_URL: sys.redis.url,
    QUEUE_PREFIX: sys.prefix,
    GITHUB_API_URL: github.url,
    GITHUB_TOKEN: TOKEN,
    GITHUB_HOOKS: 'acme/shop:42',
  };
  const proc = spawnApp('reconciler', env, ['--once', '--source', 'github', ...args]);
  const { code } = await proc.exited;
  return { code, output: proc.output() };
};
const status = async (guid: string) => {
  const res = await fetchStatus(sys.base, 'github', guid);
  return res.ok ? ((await res.json()) as { state: string; deliveries: number; attempts: number }) : null;
};

describe('pnpm reconcile --source github', () => {
  it('has GitHub redeliver what never arrived; each event is processed once; a second run recovers nothing', async () => {
    const now = Date.now();
    const ok = ['ok-1', 'ok-2', 'ok-3', 'ok-4'];
    const lost = ['lost-1', 'lost-2', 'lost-3'];
    for (const [i, guid] of ok.entries()) {
      expect(await toIngest(push(guid))).toBe(200);
      github.addAttempt(HOOK, push(guid), 200, now - (50 - i * 10) * MIN);
    }
    for (const [i, guid] of lost.entries())
      github.addAttempt(HOOK, push(guid), i === 0 ? 0 : 503, now - (45 - i * 10) * MIN);
    // Received, but answered too late for GitHub: listed as failed, not redelivered.
    expect(await toIngest(push('late'))).toBe(200);
    github.addAttempt(HOOK, push('late'), 0, now - 5 * MIN);
    await waitFor(async () => (await status('late'))?.state === 'completed', 60_000, 'late completed');

    const first = await reconcile();
    expect(first.code, first.output).toBe(0);
    expect(first.output).toContain('github: found 4, already seen 1, recovered 3');
    expect(first.output.match(/GitHub asked to redeliver it/g)).toHaveLength(3);
    expect(github.redeliveries.map((r) => r.guid).sort()).toEqual(lost);

    await github.settled();
    for (const guid of [...lost, ...ok, 'late']) {
      await waitFor(async () => (await status(guid))?.state === 'completed', 60_000, `${guid} completed`);
      expect(await status(guid)).toMatchObject({ deliveries: 1, attempts: 1 });
    }

    const second = await reconcile(['--since', '72h']);
    expect(second.code, second.output).toBe(0);
    expect(second.output).toContain('github: found 1, already seen 1, recovered 0'); // `late`, still listed
    expect(github.redeliveries).toHaveLength(3);
  });
});
