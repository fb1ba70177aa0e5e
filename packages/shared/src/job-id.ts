/**
 * The job id of an event, also its Redis hash tag (see keys.ts).
 *
 * BullMQ rejects custom job ids that contain `:` or that read as an integer, and event ids may be
 * any printable Unicode up to 256 characters. So the id is `<source>.<base64url(utf8(eventId))>`:
 * source names never contain `.`, base64url never contains `.`, `:`, `{` or `}`, and base64url is
 * injective, so two different (source, event id) pairs can never share a job id.
 */
export const SOURCE_NAME = /^[a-z0-9][a-z0-9_-]{0,63}$/;

export function jobIdFor(source: string, eventId: string): string {
  if (!SOURCE_NAME.test(source)) throw new Error(`invalid source name: ${source}`);
  return `${source}.${Buffer.from(eventId, 'utf8').toString('base64url')}`;
}

export function parseJobId(jobId: string): { source: string; eventId: string } {
  const dot = jobId.indexOf('.');
  if (dot < 1) throw new Error(`not an event job id: ${jobId}`);
  return {
    source: jobId.slice(0, dot),
    eventId: Buffer.from(jobId.slice(dot + 1), 'base64url').toString('utf8'),
  };
}

/** The job id of one workflow run of an event (workflow names never contain `.` or `:`). */
export function workflowJobId(tag: string, workflow: string): string {
  return `${tag}.${workflow}`;
}
