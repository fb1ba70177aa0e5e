/**
 * An event's tag: one string that names the event everywhere. It is the BullMQ job id of the
 * event's job, and, in braces, the Redis Cluster hash tag of every key of the event (keys.ts).
 *
 * BullMQ rejects custom job ids that contain `:` or that read as an integer, and event ids may be
 * any printable Unicode up to 256 characters. So the tag is `<source>.<base64url(utf8(eventId))>`:
 * source names never contain `.`, base64url never contains `.`, `:`, `{` or `}`, and base64url is
 * injective, so two different (source, event id) pairs can never share a tag.
 */
export const SOURCE_NAME = /^[a-z0-9][a-z0-9_-]{0,63}$/;

export class InvalidSourceError extends Error {
  override name = 'InvalidSourceError';
}

export function eventTag(source: string, eventId: string): string {
  if (!SOURCE_NAME.test(source)) throw new InvalidSourceError(`invalid source name: ${source}`);
  return `${source}.${Buffer.from(eventId, 'utf8').toString('base64url')}`;
}

/** The source and event id a tag was made from (records do not store them again). */
export function parseTag(tag: string): { source: string; eventId: string } {
  const dot = tag.indexOf('.');
  return {
    source: tag.slice(0, dot),
    eventId: Buffer.from(tag.slice(dot + 1), 'base64url').toString('utf8'),
  };
}
