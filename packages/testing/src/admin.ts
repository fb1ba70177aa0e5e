/**
 * The admin credentials the harness starts every ingest with (`startIngest`, `createTestApp`), and
 * how tests send them: /admin and /status both need them.
 */
export const TEST_ADMIN_TOKEN = 'test-admin-token';

export const adminHeaders = (token: string = TEST_ADMIN_TOKEN) => ({ authorization: `Bearer ${token}` });

/** GET /status/:source/:eventId with the admin token: the response as it came. */
export const fetchStatus = (
  base: string,
  source: string,
  eventId: string,
  token: string = TEST_ADMIN_TOKEN,
) =>
  fetch(`${base}/status/${source}/${encodeURIComponent(eventId)}`, {
    headers: adminHeaders(token),
    signal: AbortSignal.timeout(10_000),
  });
