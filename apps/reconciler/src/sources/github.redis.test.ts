import { SIGNERS } from '@oncehook/ingest/sign';
import { createTestApp, type TestApp } from '@oncehook/ingest/testing';
import { eventTag } from '@oncehook/shared';
import { type FakeGithub, type GithubEvent, startFakeGithub } from '@oncehook/testing';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { reconcileSource } from '../run.ts';
import { reconcilerDeps } from '../testing/reconciler.ts';
import { githubSource } from './github.ts';
import { githubHooksApi } from './github-hooks.ts';

/**
 * The GitHub source against a fake deliveries API (pages of 3) whose redeliveries reach the real
 * ingest routes, signed, with their original delivery id.
 */
const SECRET = 'gh-unit';
const TOKEN = 'ghp_unit';
const HOOK = { name: 'acme/shop:42', path: 'repos/acme/shop/hooks/42' };
const MIN = 60_000;
const DAY = 24 * 60 * MIN;
const WINDOW = 7 * 86_400; // the ingest's default for github

let t: TestApp;
let github: FakeGithub;
beforeEach(async () => {
  t = await createTestApp({ GITHUB_WEBHOOK_SECRET: SECRET });
  github = await startFakeGithub({ token: TOKEN, deliver: toIngest });
  github.addHook(HOOK.path);
  github.settings.pageSize = 3;
});
afterEach(async () => {
  await github.close();
  await t.close();
});

const push = (guid: string): GithubEvent => ({
  guid,
  event: 'push',
  payload: JSON.stringify({ ref: `refs/heads/${guid}`, repository: { full_name: 'acme/shop' }, commits: [] }),
});
async function toIngest(e: GithubEvent) {
  const headers = await SIGNERS.github({
    body: e.payload,
    secret: SECRET,
    id: e.guid,
    event: e.event,
    nowMs: 0,
  });
  return (await t.post('/webhooks/github', e.payload, headers)).status;
}
const source = (token = TOKEN) =>
  githubSource(githubHooksApi(github.url, token), [HOOK], t.redis, t.keys, WINDOW);
const run = (opts: { since?: number } = {}, token = TOKEN) =>
  reconcileSource(reconcilerDeps(t).run, source(token), opts);
const deliveries = async (guid: string) =>
  Number((await t.redis.hget(t.keys.event(eventTag('github', guid)), 'deliveries')) ?? 0);

/** GitHub's record, oldest first: what each event's attempts were, and whether the ingest got them. */
async function history() {
  const now = Date.now();
  const at = (minutesAgo: number) => now - minutesAgo * MIN;
  for (let i = 0; i < 4; i++) github.addAttempt(HOOK.path, push(`old-ok-${i}`), 200, now - 4 * DAY + i);
  github.addAttempt(HOOK.path, push('old-failed'), 503, now - 4 * DAY + 10);
  await toIngest(push('ok-1'));
  github.addAttempt(HOOK.path, push('ok-1'), 200, at(50));
  github.addAttempt(HOOK.path, push('lost-1'), 503, at(45));
  // Accepted, but answered after GitHub's 10 s: GitHub lists it as failed (no answer).
  await toIngest(push('late'));
  github.addAttempt(HOOK.path, push('late'), 0, at(40));
  github.addAttempt(HOOK.path, push('redelivered'), 502, at(35));
  github.addAttempt(HOOK.path, push('lost-2'), 0, at(30));
  github.addAttempt(HOOK.path, push('redelivered'), 200, at(20));
  await toIngest(push('ok-2'));
  github.addAttempt(HOOK.path, push('ok-2'), 200, at(10));
}

describe('GitHub reconciliation', () => {
  it('asks GitHub to redeliver what the ingest never received, and the redeliveries arrive once', async () => {
    await history();
    const first = await run();
    expect(first.result, first.error?.stack).toBe('completed');
    // lost-1, lost-2 (never received), late (received: no redelivery); redelivered: its newest attempt is OK.
    expect(first.tally).toMatchObject({ found: 3, alreadySeen: 1, recovered: 2, failed: 0 });
    expect(github.redeliveries.map((r) => r.guid).sort()).toEqual(['lost-1', 'lost-2']);
    // Listing stopped at the first attempt older than the lookback: the older pages were not read.
    expect(github.listCalls.map((c) => c.cursor === null)).toEqual([true, false, false]);

    await github.settled();
    expect(await deliveries('lost-1')).toBe(1);
    expect(await deliveries('lost-2')).toBe(1);
    expect(await deliveries('late')).toBe(1);
    const jobs = (await t.queue.getJobs()).map((j) => j.data.eventId).sort();
    expect(jobs).toEqual(['late', 'lost-1', 'lost-2', 'ok-1', 'ok-2']);

    // The redeliveries succeeded: nothing is missing any more, from the checkpoint or from 72 h
    // back (where `late` is still listed as failed, and still seen).
    expect((await run()).tally).toMatchObject({ found: 0 });
    const since = Math.floor(Date.now() / 1000) - 72 * 3600;
    expect((await run({ since })).tally).toMatchObject({ found: 1, alreadySeen: 1, recovered: 0 });
    expect(github.redeliveries).toHaveLength(2);
  });

  it('counts what GitHub refuses to redeliver (too old) and goes on with the rest', async () => {
    await history();
    const outcome = await run({ since: Math.floor((Date.now() - 5 * DAY) / 1000) });
    expect(outcome.result).toBe('completed');
    expect(outcome.tally).toMatchObject({ found: 4, alreadySeen: 1, recovered: 2, failed: 1 });
    expect(await deliveries('old-failed')).toBe(0);
  });

  it('waits out the rate limit (403 with no requests left until x-ratelimit-reset)', async () => {
    await history();
    github.rateLimit(1, 403);
    const outcome = await run();
    expect(outcome.result).toBe('completed');
    expect(outcome.tally).toMatchObject({ rateLimitWaits: 1, recovered: 2 });
    expect(github.listCalls[0]?.status).toBe(403);
  });

  it('fails the run on bad credentials, and moves no checkpoint', async () => {
    await history();
    const outcome = await run({}, 'ghp_wrong');
    expect(outcome.result).toBe('failed');
    expect(outcome.error?.message).toContain('401');
    expect(await t.redis.exists(t.keys.reconcileFeed('github', HOOK.path))).toBe(0);
  });

  it('a hook that is gone fails the run, but not before the other hooks were reconciled', async () => {
    await history();
    const gone = { name: 'acme/old:7', path: 'repos/acme/old/hooks/7' };
    const both = githubSource(githubHooksApi(github.url, TOKEN), [gone, HOOK], t.redis, t.keys, WINDOW);
    const outcome = await reconcileSource(reconcilerDeps(t).run, both, {});
    expect(outcome.result).toBe('failed');
    expect(outcome.error?.message).toContain('acme/old:7: GitHub answered 404');
    expect(outcome.tally).toMatchObject({ recovered: 2 });
    expect(await t.redis.hget(t.keys.reconcileFeed('github', HOOK.path), 'checkpoint')).not.toBeNull();
    expect(await t.redis.exists(t.keys.reconcileFeed('github', gone.path))).toBe(0);
  });
});
