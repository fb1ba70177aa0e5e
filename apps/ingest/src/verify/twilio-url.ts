import { parse as parseQuery, stringify as stringifyQuery } from 'node:querystring';

/**
 * The URLs a Twilio signature may have been computed over, given the URL as received, in the
 * order twilio-node's `validateRequest` tries them: as received without and with its port (Twilio's
 * back ends differ), then as `new URL()` normalises it (`'` becomes `%27`), and that with its query
 * re-encoded the way Node's legacy `querystring` does (`%27` back to `'`), each without and with
 * the port. Duplicates are dropped: for most URLs the list has two entries, never more than six.
 */
export function signedUrlCandidates(url: string): string[] {
  const candidates = new Set([removePort(url), addPort(url)]);
  let normalized: string;
  try {
    normalized = new URL(url).toString();
  } catch {
    return [...candidates];
  }
  for (const variant of [removePort(normalized), addPort(normalized)]) {
    candidates.add(variant);
    candidates.add(withLegacyQuerystring(variant));
  }
  return [...candidates];
}

/** `bodySHA256` from the URL's query: Twilio's JSON webhooks sign the URL, which carries the body's hash. */
export function bodySha256Of(url: string): string | null {
  const query = url.indexOf('?');
  if (query < 0) return null;
  return new URLSearchParams(url.slice(query + 1)).get('bodySHA256');
}

/** The URL split without normalising anything: the path and query keep the characters Twilio signed. */
function splitUrl(url: string) {
  const match = /^([a-z][a-z0-9+.-]*:\/\/)([^/?#]*)/i.exec(url);
  if (!match) return null;
  const [prefix, scheme = '', authority = ''] = match;
  const userInfo = authority.slice(0, authority.lastIndexOf('@') + 1);
  const hostPort = authority.slice(userInfo.length);
  // A colon starts the port only after an IPv6 literal's closing bracket.
  const colon = hostPort.indexOf(':', hostPort.lastIndexOf(']') + 1);
  return {
    scheme,
    userInfo,
    host: colon < 0 ? hostPort : hostPort.slice(0, colon),
    port: colon < 0 ? '' : hostPort.slice(colon),
    rest: url.slice(prefix.length),
  };
}

function removePort(url: string): string {
  const p = splitUrl(url);
  return p ? p.scheme + p.userInfo + p.host + p.rest : url;
}

/** The URL with its scheme's default port when it has none. */
function addPort(url: string): string {
  const p = splitUrl(url);
  if (!p || p.port) return url;
  const port = p.scheme.toLowerCase() === 'https://' ? ':443' : ':80';
  return p.scheme + p.userInfo + p.host + port + p.rest;
}

function withLegacyQuerystring(url: string): string {
  const query = url.indexOf('?');
  if (query < 0 || query === url.length - 1) return url;
  return `${url.slice(0, query)}?${stringifyQuery(parseQuery(url.slice(query + 1)))}`;
}
