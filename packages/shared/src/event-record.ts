import { createHash } from 'node:crypto';
import type { Keys } from './keys.ts';
import { luaScript } from './lua.ts';
import type { RedisClient } from './redis.ts';

/**
 * The event record's ingest side (the worker's is in the worker's engine, the reader is
 * event-status.ts): what a delivery does to the event's hash, in one script per step so that two
 * deliveries racing each other, or a delivery racing the worker, always see one consistent record.
 *
 * A record is "pending" until a worker has its job (`state`): the ingest that wrote it may have
 * died, or been refused, before the job existed. A delivery that finds a pending record therefore
 * enqueues again (the job id makes that harmless: usually the job exists and waits) before it
 * answers 200. That costs such a re-delivery a second round trip; the first delivery of an event
 * costs two (this record, the job), and a re-delivery once a worker has the event one.
 */

/**
 * The hash a record keeps of its first body, to tell a re-delivery with another body (a conflict):
 * 96 bits of its SHA-256, base64url (16 characters). Not a security boundary: the signature is.
 */
export const bodyHash = (raw: Buffer | string) =>
  createHash('sha256').update(raw).digest().subarray(0, 12).toString('base64url');

/**
 * The body hash of a copy fetched from the provider's API (the reconciler) rather than delivered:
 * its bytes differ from any delivery's (formatting; Stripe's `pending_webhooks` counts down), so
 * it is never compared with one, and a record it opened takes the first delivered body's hash.
 */
export const UNCOMPARED_BODY = '';

export interface Delivery {
  type: string;
  /** `bodyHash(raw)`: tells a re-delivery with another body (a conflict); or UNCOMPARED_BODY. */
  bodyHash: string;
  receivedAt: number;
  windowSeconds: number;
  /** QUEUE_PARTITIONS now: the layout the event's job goes to if this delivery is its first. */
  partitions?: number;
}

export type Opened =
  /** This delivery created the record: enqueue, then answer `duplicate: false`. */
  | { kind: 'new'; deliveries: 1; conflict: false; gen: number; partitions: number }
  /** No worker has its job yet (it may not exist): enqueue this body (a no-op if it does). */
  | { kind: 'pending'; deliveries: number; conflict: boolean; gen: number; partitions: number }
  /** A worker has (or had) its job: a duplicate, nothing to enqueue. */
  | { kind: 'known'; deliveries: number; conflict: boolean; gen: number; partitions: number };

// One script: create the record, or count a delivery on it. The first delivery's type, body hash
// and time (also the record's generation) are kept; the window runs from it (PEXPIRE), and the
// worker moves it later, never earlier. The body itself is stored once, in
// the job: a pending record's re-delivery enqueues its own body, which the job id makes a no-op
// if the first one's job exists. While every earlier delivery was refused (503: its count taken
// back, so none was ACKed), the record takes this delivery's type and hash as the first. A listed
// copy (UNCOMPARED_BODY) is compared with nothing, and leaves the hash to the first delivery. The
// queue layout (`q`, QUEUE_PARTITIONS) is written once, and only when it is not 1.
// KEYS[1] the event hash
// ARGV[1] the event's type, ARGV[2] its body hash ('' for a listed copy), ARGV[3] now (ms: the
//         generation, if this delivery is the first), ARGV[4] the window (s), ARGV[5] QUEUE_PARTITIONS
// Returns {'new' | 'pending' | 'known', deliveries, conflict (1 | 0), generation, the record's layout}.
const OPEN = luaScript(`
local ev = KEYS[1]
local eventType, hash, now, windowSeconds, partitions = ARGV[1], ARGV[2], ARGV[3], ARGV[4], ARGV[5]
if redis.call('EXISTS', ev) == 0 then
  redis.call('HSET', ev, 'type', eventType, 'bodyHash', hash, 'receivedAt', now, 'deliveries', 1)
  if partitions ~= '1' then redis.call('HSET', ev, 'q', partitions) end
  redis.call('PEXPIRE', ev, windowSeconds * 1000)
  return {'new', 1, 0, now, partitions}
end
local stored = redis.call('HMGET', ev, 'bodyHash', 'receivedAt', 'state', 'deliveries', 'q')
local known = stored[3]
local conflict = 0
if not known and tonumber(stored[4] or '0') <= 0 then
  redis.call('HSET', ev, 'bodyHash', hash, 'type', eventType)
elseif hash == '' then
elseif stored[1] == '' then
  redis.call('HSET', ev, 'bodyHash', hash)
elseif stored[1] ~= hash then
  conflict = 1
  redis.call('HINCRBY', ev, 'conflicts', 1)
end
local deliveries = redis.call('HINCRBY', ev, 'deliveries', 1)
return {known and 'known' or 'pending', deliveries, conflict, stored[2], stored[5] or '1'}
`);

/** Opens (or counts a delivery on) the event's record; see `Opened` for what the caller does next. */
export async function openRecord(redis: RedisClient, keys: Keys, tag: string, d: Delivery): Promise<Opened> {
  const [kind, deliveries, conflict, gen, q] = (await OPEN(
    redis,
    [keys.event(tag)],
    [d.type, d.bodyHash, d.receivedAt, d.windowSeconds, d.partitions ?? 1],
  )) as [Opened['kind'], number, number, string, string];
  // A new record's script answered 1 delivery, no conflict: what `Opened` says of 'new'.
  return { kind, deliveries, conflict: conflict === 1, gen: Number(gen), partitions: Number(q) } as Opened;
}

// Only ever undoes this delivery's own count. The record stays, pending: with no deliveries it is
// invisible (/status: 404), and the provider's retry finds it and enqueues the first body.
// KEYS[1] the event hash; ARGV[1] the generation it opened, ARGV[2] 1 if it counted a conflict.
// Returns the deliveries left, or 0 for a record of another generation (untouched).
const UNCOUNT = luaScript(`
local ev = KEYS[1]
local gen, conflicted = ARGV[1], ARGV[2]
if redis.call('HGET', ev, 'receivedAt') ~= gen then return 0 end
if conflicted == '1' then redis.call('HINCRBY', ev, 'conflicts', -1) end
return redis.call('HINCRBY', ev, 'deliveries', -1)
`);

/**
 * A delivery whose enqueue failed is answered 503 and must leave no count behind. Best effort: if
 * Redis is gone, the count stays (the record is still "pending", which is what the retry needs).
 */
export async function uncountDelivery(
  redis: RedisClient,
  keys: Keys,
  tag: string,
  opened: { gen: number; conflict: boolean },
): Promise<void> {
  await UNCOUNT(redis, [keys.event(tag)], [opened.gen, opened.conflict ? 1 : 0]);
}

// The signed body is claimed for the first event that carries it: SET NX, or the current owner.
// KEYS[1] the signed body's claim; ARGV[1] this event's tag, ARGV[2] how long to keep it (s).
// Returns the owner's tag (this one's, if it claimed it).
const CLAIM = luaScript(`
local claim = KEYS[1]
local tag, ttl = ARGV[1], ARGV[2]
local owner = redis.call('GET', claim)
if owner then return owner end
redis.call('SET', claim, tag, 'EX', ttl)
return tag
`);

// Compare-and-set: only if the claim still names the owner that was found gone.
// KEYS[1] the claim; ARGV[1] this event's tag, ARGV[2] the former owner's, ARGV[3] time to keep (s).
// Returns the owner afterwards.
const TAKE_OVER = luaScript(`
local claim = KEYS[1]
local tag, former, ttl = ARGV[1], ARGV[2], ARGV[3]
local owner = redis.call('GET', claim)
if owner and owner ~= former then return owner end
redis.call('SET', claim, tag, 'EX', ttl)
return tag
`);

/** What a replay claim is keyed by: the event's type (topic) and its signed bytes. */
export function signedBodyHash(type: string, rawBody: Buffer | string): string {
  return createHash('sha256').update(type).update('\n').update(rawBody).digest('hex');
}

export interface SignedBodyClaim {
  source: string;
  /** sha256 over the event type and the signed body: one body under two topics is two events. */
  sha256: string;
  tag: string;
  ttlSeconds: number;
}

/** The event that owns this signed body: this one, or the one it was first accepted as. */
export async function claimSignedBody(redis: RedisClient, keys: Keys, c: SignedBodyClaim): Promise<string> {
  return String(await CLAIM(redis, [keys.signedBody(c.source, c.sha256)], [c.tag, c.ttlSeconds]));
}

/**
 * Points the signed body at this event if it still names `formerOwner` (whose record is gone);
 * returns the owner afterwards. Two copies taking over at once: one wins, the other sees it.
 */
export async function takeOverSignedBody(
  redis: RedisClient,
  keys: Keys,
  c: SignedBodyClaim,
  formerOwner: string,
): Promise<string> {
  return String(
    await TAKE_OVER(redis, [keys.signedBody(c.source, c.sha256)], [c.tag, formerOwner, c.ttlSeconds]),
  );
}

// A replay is counted on the owner while its record lives and a delivery of it was accepted (its
// job exists, or is being added — should that fail, the owner's provider retries it, since its
// delivery was answered 503). If every delivery of the owner was refused: 'pending', try later.
// KEYS[1] the owner's event hash. Returns 'counted' | 'pending' | 'gone'.
const COUNT_REPLAY = luaScript(`
local ev = KEYS[1]
local state = redis.call('HMGET', ev, 'receivedAt', 'state', 'deliveries')
if not state[1] then return 'gone' end
if not state[2] and tonumber(state[3] or '0') <= 0 then return 'pending' end
redis.call('HINCRBY', ev, 'replays', 1)
return 'counted'
`);

/**
 * Counts a replay on the event that owns a signed body. 'pending': every delivery of it was refused
 * so far; 'gone': no record (expired, or its ingest died before writing it).
 */
export async function countReplay(
  redis: RedisClient,
  keys: Keys,
  ownerTag: string,
): Promise<'counted' | 'pending' | 'gone'> {
  return (await COUNT_REPLAY(redis, [keys.event(ownerTag)], [])) as 'counted' | 'pending' | 'gone';
}
