import { Counter, Gauge, Histogram, type Registry } from 'prom-client';

/** What the metrics read of the destinations at scrape time. */
export interface DestinationsSeen {
  names: readonly string[];
  /** Seconds since the oldest event waiting for its delivery was received (0: none waits). */
  oldestWaiting(name: string): Promise<number>;
}

/** The metrics of forwarding, per destination (DESTINATIONS_FILE); docs/alerts.yml alerts on them. */
export function destinationMetrics(registry: Registry, seen?: DestinationsSeen) {
  const requests = new Counter({
    name: 'oncehook_destination_requests_total',
    help: 'Requests to a destination by outcome (delivered; retried: no answer, 5xx, 408, 409, 425, 429; failed: for good) and status class (2xx … 5xx, or none).',
    labelNames: ['destination', 'outcome', 'status'] as const,
    registers: [registry],
  });
  const seconds = new Histogram({
    name: 'oncehook_destination_request_duration_seconds',
    help: 'Time from a request to a destination to its answer (or to its failure), by destination.',
    labelNames: ['destination'] as const,
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
    registers: [registry],
  });
  const inFlight = new Gauge({
    name: 'oncehook_destination_in_flight',
    help: "This worker's requests to a destination awaiting their answer.",
    labelNames: ['destination'] as const,
    registers: [registry],
  });
  new Gauge({
    name: 'oncehook_destination_oldest_waiting_seconds',
    help: 'Age of the oldest event waiting for its delivery to a destination (over a limit, or between retries: until a minute past its next request), since it was received; 0: none waits.',
    labelNames: ['destination'] as const,
    registers: [registry],
    async collect() {
      for (const destination of seen?.names ?? []) {
        try {
          this.set({ destination }, (await seen?.oldestWaiting(destination)) ?? 0);
        } catch {
          // Redis unreachable: /readyz says so; the scrape itself still answers.
        }
      }
    },
  });
  return {
    destinationInFlight: inFlight,
    destinationRequest(destination: string, outcome: string, r: { status: number; ms: number }) {
      const status = r.status === 0 ? 'none' : `${Math.floor(r.status / 100)}xx`;
      requests.inc({ destination, outcome, status });
      seconds.observe({ destination }, r.ms / 1000);
    },
  };
}
