import autocannon from 'autocannon';

export interface LoadResult {
  requests: number;
  'req/s': number;
  p50: number;
  p99: number;
  p999: number;
  non2xx: number;
  errors: number;
}

/**
 * Posts demo deliveries at `url` from `connections` keep-alive connections for `seconds`, each
 * with a fresh event id — or each id `repeat` times in a row (re-deliveries racing each other).
 * The same generator drives every target, so their ratios are comparable.
 */
export async function load(
  url: string,
  { connections = 50, seconds = 8, repeat = 1, prefix = `e${Date.now()}` } = {},
): Promise<LoadResult> {
  let n = 0;
  const result = await autocannon({
    url,
    connections,
    duration: seconds,
    requests: [
      {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        setupRequest: (req) => ({
          ...req,
          body: JSON.stringify({
            event_id: `${prefix}-${Math.floor(n++ / repeat)}`,
            type: 'payment.succeeded',
            amount: 4999,
            currency: 'USD',
          }),
        }),
      },
    ],
  });
  return {
    requests: result.requests.total,
    'req/s': Math.round(result.requests.average),
    p50: result.latency.p50,
    p99: result.latency.p99,
    p999: result.latency.p99_9,
    non2xx: result.non2xx,
    errors: result.errors + result.timeouts,
  };
}
