import type { Keys, RedisClient } from '@oncehook/shared';
import { unwrap } from '@oncehook/shared';
import { luaScript } from './lua.ts';
import type { StepWriteBuffer } from './step-writes.ts';

/**
 * Completion markers: `keys.stepMarkers(tag, workflow)` maps step name -> JSON `{ result, at }`.
 * A marker is written once (first writer wins) and is what makes a step "done" for every later
 * attempt, worker and replay of the event. All of an event's keys share its `{tag}` slot.
 */

export interface RunLocation {
  keys: Keys;
  tag: string;
  workflow: string;
  /** The event record's expiry (ms epoch): markers and commit records expire with it. */
  expiresAt: number;
}

const parseMarker = (json: string): unknown => (JSON.parse(json) as { result?: unknown }).result;

export interface LoadedRun {
  /** Step name -> its stored result, for every step with a marker. */
  markers: Map<string, unknown>;
  /** The workflow run's state as last written (`completed` means there is nothing left to do). */
  state: string | null;
}

/** One round trip: every marker of the run, and the run's state. */
export async function loadRun(redis: RedisClient, at: RunLocation): Promise<LoadedRun> {
  const [markers, state] = unwrap(
    await redis
      .multi()
      .hgetall(at.keys.stepMarkers(at.tag, at.workflow))
      .hget(at.keys.workflowRun(at.tag, at.workflow), 'state')
      .exec(),
  ) as [Record<string, string>, string | null];
  return {
    markers: new Map(Object.entries(markers).map(([step, json]) => [step, parseMarker(json)])),
    state,
  };
}

/**
 * Records when `step` was first attempted (the first call wins) and returns that time. Lives on the
 * run hash, so it survives retries, other workers and replays, and expires with the event.
 */
export async function firstAttemptAt(
  redis: RedisClient,
  at: RunLocation,
  step: string,
  now = Date.now(),
): Promise<number> {
  const run = at.keys.workflowRun(at.tag, at.workflow);
  const field = `started.${step}`;
  const [, , stored] = unwrap(
    await redis.multi().hsetnx(run, field, String(now)).pexpireat(run, at.expiresAt).hget(run, field).exec(),
  );
  return Number(stored ?? now);
}

// With writes: the commit record (in the writes' slot) says whether any run of this step has
// committed; the writes happen only if none has. On a single Redis the marker is checked and
// written in the same script; on a cluster it lives in another slot and is written right after
// (a crash in between leaves the commit record, so the retry writes nothing twice).
const COMMIT_WITH_WRITES = luaScript(`
local withMarkers = ARGV[4] == '1'
if withMarkers then
  local marked = redis.call('HGET', KEYS[2], ARGV[3])
  if marked then return {0, marked} end
end
local committed = redis.call('GET', KEYS[1])
local fresh = 0
if not committed then
  for _, op in ipairs(cjson.decode(ARGV[5])) do
    redis.call(op[1], KEYS[op[2]], unpack(op, 3))
  end
  redis.call('SET', KEYS[1], ARGV[1], 'PXAT', ARGV[2])
  committed = ARGV[1]
  fresh = 1
end
if withMarkers then
  redis.call('HSET', KEYS[2], ARGV[3], committed)
  redis.call('PEXPIREAT', KEYS[2], ARGV[2])
end
return {fresh, committed}
`);

export interface Committed {
  /** The step's result as stored: this run's, or that of a run that committed first. */
  result: unknown;
  /** False if another run of the step had already committed (its writes were not repeated). */
  fresh: boolean;
}

/** Writes the step's marker (and its own writes, atomically) unless a run of it already did. */
export async function commitStep(
  redis: RedisClient,
  at: RunLocation,
  step: string,
  result: unknown,
  writes: StepWriteBuffer,
): Promise<Committed> {
  const markersKey = at.keys.stepMarkers(at.tag, at.workflow);
  const marker = JSON.stringify({ result, at: Date.now() });
  if (writes.ops.length === 0) {
    const [created, , stored] = unwrap(
      await redis
        .multi()
        .hsetnx(markersKey, step, marker)
        .pexpireat(markersKey, at.expiresAt)
        .hget(markersKey, step)
        .exec(),
    );
    return { result: parseMarker(String(stored)), fresh: created === 1 };
  }

  const commitKey = at.keys.stepCommit(writes.hashTag(step), at.tag, at.workflow, step);
  const withMarkers = !redis.isCluster;
  const head = withMarkers ? [commitKey, markersKey] : [commitKey];
  const writeKeys = [...new Set(writes.ops.map((op) => op.key))];
  const ops = writes.ops.map((op) => [op.command, head.length + writeKeys.indexOf(op.key) + 1, ...op.args]);
  const [fresh, stored] = (await COMMIT_WITH_WRITES(
    redis,
    [...head, ...writeKeys],
    [marker, at.expiresAt, step, withMarkers ? '1' : '0', JSON.stringify(ops)],
  )) as [number, string];
  if (!withMarkers) {
    await redis.multi().hsetnx(markersKey, step, stored).pexpireat(markersKey, at.expiresAt).exec();
  }
  return { result: parseMarker(stored), fresh: fresh === 1 };
}
