import { userInfo } from 'node:os';
import { createKeys, createLogger, createRedis, openQueues, waitForRedis } from '@oncehook/shared';
import { orExit, parseIngestEnv } from '../env.ts';
import { replayEvent } from '../replay/replay-event.ts';
import { replayFailed } from '../replay/replay-failed.ts';
import { logBulkReplay, logReplay } from '../replay-log.ts';
import { parseReplayArgs, USAGE } from './replay-args.ts';

/**
 * npm run replay -- --source demo --event evt_1 | --failed [--since 24h] [--source demo] [--limit 100]
 *
 * The admin API's replay (the same functions), straight against Redis: prints the outcome as JSON
 * and exits 0 when the event was replayed or needed nothing, 1 when it could not be. Each request
 * is logged (to stderr) with who asked and what it answered, as the API's are.
 */
const args = parseReplayArgs(process.argv.slice(2));
if (!args.ok) {
  console.error(`${args.message}\n\n${USAGE}`);
  process.exit(process.argv.includes('--help') ? 0 : 2);
}
const config = orExit(() => parseIngestEnv());
// stdout carries the JSON answer alone: the log lines go to stderr.
const log = createLogger(config, 'replay', process.stderr);
const redis = createRedis(config, 'fail-fast', 'oncehook-replay');
redis.on('error', () => {});
await waitForRedis(redis, 10_000).catch((err: Error) => {
  console.error(`REDIS_URL: ${err.message}`);
  process.exit(1);
});
const queues = openQueues(config, redis);
const deps = { redis, keys: createKeys(config.QUEUE_PREFIX), queues, retry: config, log };
// Who asked: the operator's login, where the shell knows it.
const by = `cli:${userInfo().username}`;
let code = 0;
if (args.mode === 'one') {
  const asked = { by, via: 'cli' as const, source: args.source, eventId: args.eventId };
  const result = await replayEvent(deps, args.source, args.eventId, by).catch((err) => {
    logReplay(log, asked, 'unavailable');
    throw err;
  });
  logReplay(log, asked, result.kind, 'state' in result ? result.state : undefined);
  console.log(JSON.stringify(result, null, 2));
  if (result.kind !== 'replayed' && result.kind !== 'noop') code = 1;
} else {
  const since = args.sinceSeconds === undefined ? undefined : Date.now() - args.sinceSeconds * 1000;
  const query = { limit: args.limit, source: args.source, since };
  const asked = { by, via: 'cli' as const, query };
  const report = await replayFailed(deps, query, by).catch((err) => {
    logBulkReplay(log, asked, { outcome: 'unavailable' });
    throw err;
  });
  logBulkReplay(log, asked, report);
  console.log(JSON.stringify(report, null, 2));
}
await queues.close();
redis.disconnect();
process.exit(code);
