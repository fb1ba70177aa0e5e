import { type Keys, luaScript, type RedisClient } from '@oncehook/shared';
import { scriptOps, WRITES } from './event-lua.ts';
import type { CommitArgs, WriteBatch } from './step-commit.ts';

// On a Redis Cluster the writes live in another slot than the event: they commit with a commit
// record beside them (the step's result, per generation), and the marker follows in the event's
// own script.
// KEYS[1] the commit record, KEYS[2..n] the write keys (all in one slot)
// ARGV[1] the step's result (JSON), ARGV[2] keep the commit record until (ms), ARGV[3] the writes
// Returns {'ok', fresh (1 | 0), stored result} | {'invalid', why}.
const COMMIT_WRITES = luaScript(`${WRITES}
local commit = KEYS[1]
local result, keepUntil, writes = ARGV[1], ARGV[2], ARGV[3]
local committed = redis.call('GET', commit)
if committed then return {'ok', 0, committed} end
local ops = cjson.decode(writes)
local bad = invalid(ops)
if bad then return {'invalid', bad} end
apply(ops)
redis.call('SET', commit, result, 'PXAT', keepUntil)
return {'ok', 1, result}
`);

/**
 * A step's own writes on a Redis Cluster, before its marker (step-commit.ts): what the event's
 * script checks atomically on a single Redis — the generation, the job's lock — is checked first
 * here, in a round trip of its own, then the writes commit beside their commit record. What a
 * pause between the two can still do is in docs/guarantees.md's known limits.
 */
export async function commitWritesOnCluster(
  redis: RedisClient,
  keys: Keys,
  tag: string,
  c: CommitArgs,
  writes: WriteBatch,
): Promise<
  | { kind: 'ok'; result: string; wrote: string[] }
  | { kind: 'superseded' | 'lock-lost' }
  | { kind: 'invalid'; reason: string }
> {
  const [gen, lock] = await Promise.all([
    redis.hget(keys.event(tag), 'receivedAt'),
    c.lock ? redis.get(c.lock.key) : undefined,
  ]);
  if (gen !== String(c.gen)) return { kind: 'superseded' };
  if (c.lock && lock !== c.lock.token) return { kind: 'lock-lost' };
  const commitKey = keys.stepCommit(writes.slot, tag, c.gen, c.workflow, c.step);
  const [kind, , stored] = (await COMMIT_WRITES(
    redis,
    [commitKey, ...writes.keys],
    [c.resultJson, c.commitRecordUntil, JSON.stringify(scriptOps(writes))],
  )) as [string, number, string];
  if (kind === 'invalid') return { kind, reason: String(stored ?? '') };
  return { kind: 'ok', result: stored, wrote: [commitKey, ...writes.keys] };
}
