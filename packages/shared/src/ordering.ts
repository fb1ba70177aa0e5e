import { eventTag } from './event-tag.ts';

/**
 * Per-object ordering. A provider module names the object an event is about (its ordering key)
 * and when the provider created the event; a workflow that opts in runs the events of one key one
 * at a time, ordered by that time (ties by arrival). Events without a key run as they always did.
 */
export interface OrderingKey {
  /** The object: `sub_123`, `orders/450789469`, `octo/repo:refs/heads/main`. */
  key: string;
  /** The provider's creation time (ms epoch); absent: arrival order. */
  at?: number | undefined;
}

/** Longer keys are cut: a key is a Redis key's hash tag, not a document. */
export const MAX_ORDERING_KEY = 200;

/** A key as providers hand it over: a non-empty string or number, cut to MAX_ORDERING_KEY. */
export function orderingKey(value: unknown): string | undefined {
  if (typeof value === 'number' && Number.isFinite(value)) return String(value);
  if (typeof value !== 'string' || value === '') return undefined;
  return value.slice(0, MAX_ORDERING_KEY);
}

/** A time given as unix seconds, ms, or an ISO 8601 string, in ms; undefined when it is none. */
export function providerTime(value: unknown): number | undefined {
  if (typeof value === 'number' && Number.isFinite(value) && value > 0)
    return value < 1e11 ? value * 1000 : value;
  if (typeof value !== 'string' || value === '') return undefined;
  const ms = Date.parse(value);
  return Number.isNaN(ms) ? undefined : ms;
}

/**
 * A lane's tag: one lane per (source, workflow, key), so that two workflows of one event order
 * their own runs. Encoded as an event tag (no `:`, `{`, `}`; injective): workflow names never
 * contain `/`.
 */
export const laneTag = (source: string, workflow: string, key: string) =>
  eventTag(source, `${workflow}/${key}`);
