import { eventTag, type Keys, type RedisClient, readEventStatus } from '@oncehook/shared';
import { LockLost } from '../checkpoint.ts';
import type { GithubHook } from '../env.ts';
import { retryRateLimited } from '../rate-limit.ts';
import { type ReconcileSource, type RunContext, RunStopped, rangeStart } from '../run.ts';
import { GithubApiError, type GithubHooksApi, githubRateLimit, type HookDelivery } from './github-hooks.ts';

/**
 * GitHub: the events a hook failed to deliver are not fed in here but redelivered by GitHub, so
 * that they arrive through the normal signed route with their original `X-GitHub-Delivery`, which
 * the ingest dedupes on as for any delivery (the body GitHub lists is not the signed one).
 *
 * An event is missing when its newest attempt failed and the ingest has no record of it (GitHub
 * may count as failed a delivery the ingest accepted but answered too late). Its redelivery
 * then shows as a new attempt: a run that dies after asking asks again only if that one failed.
 */
export const GITHUB_SOURCE = 'github';

const succeeded = (d: HookDelivery) => d.status_code >= 200 && d.status_code < 300;

export function githubSource(
  api: GithubHooksApi,
  hooks: GithubHook[],
  redis: RedisClient,
  keys: Keys,
  /** The ingest's dedupe window for `github`. */
  ttlSeconds: number,
): ReconcileSource {
  const call = <T>(ctx: RunContext, fn: () => Promise<T>) =>
    retryRateLimited(fn, githubRateLimit, ctx.rateLimited);

  /** Each event's newest attempt since `from` (pages come newest first). */
  async function newestAttempts(ctx: RunContext, hook: GithubHook, from: number) {
    const newest = new Map<string, HookDelivery>();
    let cursor: string | undefined;
    do {
      ctx.check();
      const page = await call(ctx, () => api.listDeliveries(hook.path, cursor));
      for (const d of page.deliveries) {
        if (Date.parse(d.delivered_at) / 1000 < from) return newest;
        if (!newest.has(d.guid)) newest.set(d.guid, d);
      }
      cursor = page.cursor;
    } while (cursor);
    return newest;
  }

  async function recover(ctx: RunContext, hook: GithubHook, d: HookDelivery) {
    if (await readEventStatus(redis, keys, eventTag(GITHUB_SOURCE, d.guid))) return ctx.found('already_seen');
    const about = { hook: hook.name, guid: d.guid, event: d.event, deliveredAt: d.delivered_at };
    try {
      await call(ctx, () => api.redeliver(hook.path, d.id));
    } catch (err) {
      // Refused for this delivery alone (too old to redeliver, gone): the rest of the run goes on.
      if (!(err instanceof GithubApiError) || err.status < 400 || err.status >= 500 || err.rateLimited)
        throw err;
      ctx.log.error(
        { ...about, err: err.message },
        'GitHub refused to redeliver an event the ingest never received',
      );
      return ctx.found('failed');
    }
    ctx.found('recovered');
    ctx.log.warn(about, 'recovered an event the ingest never received: GitHub asked to redeliver it');
  }

  async function reconcileHook(ctx: RunContext, hook: GithubHook) {
    const feed = ctx.feed(hook.path);
    const from = rangeStart(ctx, await feed.read(), ttlSeconds);
    const to = ctx.now();
    for (const d of (await newestAttempts(ctx, hook, from)).values()) {
      if (succeeded(d)) continue;
      ctx.check();
      await recover(ctx, hook, d);
    }
    ctx.checkpointed(hook.path, await feed.commit(from, to));
  }

  return {
    name: GITHUB_SOURCE,
    async run(ctx) {
      // One hook failing (gone, no permission) does not keep the others from being reconciled.
      const failed: string[] = [];
      for (const hook of hooks) {
        try {
          await reconcileHook(ctx, hook);
        } catch (err) {
          if (err instanceof LockLost || err instanceof RunStopped) throw err;
          ctx.log.error({ hook: hook.name, err: (err as Error).message }, 'hook not reconciled');
          failed.push(`${hook.name}: ${(err as Error).message}`);
        }
      }
      if (failed.length > 0) throw new Error(failed.join('; '));
    },
  };
}
