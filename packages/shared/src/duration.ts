/**
 * Durations as operators write them: `90s`, `15m`, `72h`, `30d`, or a plain number of seconds.
 * Returns seconds, or null for anything else.
 */
const UNIT_SECONDS = { s: 1, m: 60, h: 60 * 60, d: 24 * 60 * 60 } as const;
const DURATION = /^(\d{1,9})\s*([smhd]?)$/;

export function parseDuration(text: string): number | null {
  const match = DURATION.exec(text.trim());
  if (!match) return null;
  const unit = (match[2] || 's') as keyof typeof UNIT_SECONDS;
  return Number(match[1]) * UNIT_SECONDS[unit];
}

/** `--since`: a duration back from `nowSeconds`, or an ISO 8601 date; unix seconds, or null. */
export function parseSince(text: string, nowSeconds: number): number | null {
  const back = parseDuration(text);
  if (back !== null) return nowSeconds - back;
  if (!/^\d{4}-\d{2}-\d{2}/.test(text)) return null;
  const ms = Date.parse(text);
  return Number.isNaN(ms) ? null : Math.floor(ms / 1000);
}
