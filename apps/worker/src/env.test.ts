import { describe, expect, it } from 'vitest';
import { parseWorkerEnv } from './env.ts';

describe('the worker environment', () => {
  it('reads WORKER_PARTITIONS as partition numbers of QUEUE_PARTITIONS, and names it when it is not', () => {
    expect(parseWorkerEnv({ QUEUE_PARTITIONS: '3', WORKER_PARTITIONS: '2,0' }).WORKER_PARTITIONS).toEqual([
      0, 2,
    ]);
    expect(parseWorkerEnv({}).WORKER_PARTITIONS).toBeUndefined();
    expect(() => parseWorkerEnv({ QUEUE_PARTITIONS: '3', WORKER_PARTITIONS: '1,3' })).toThrow(
      /WORKER_PARTITIONS: 3 not among QUEUE_PARTITIONS=3 partitions \(0-2\)/,
    );
    expect(() => parseWorkerEnv({ WORKER_PARTITIONS: 'one' })).toThrow(
      /WORKER_PARTITIONS: partition numbers/,
    );
    expect(() => parseWorkerEnv({ QUEUE_PARTITIONS: '17' })).toThrow(/QUEUE_PARTITIONS/);
  });

  it('serves metrics on METRICS_PORT (9464; 0 for none), and names it or ALERT_WEBHOOK_URL when bad', () => {
    expect(parseWorkerEnv({}).METRICS_PORT).toBe(9464);
    expect(parseWorkerEnv({ METRICS_PORT: '0' }).METRICS_PORT).toBe(0);
    expect(parseWorkerEnv({}).ALERT_WEBHOOK_URL).toBeUndefined();
    expect(() => parseWorkerEnv({ METRICS_PORT: 'nine' })).toThrow(/METRICS_PORT/);
    expect(() => parseWorkerEnv({ METRICS_PORT: '70000' })).toThrow(/METRICS_PORT/);
    expect(() => parseWorkerEnv({ ALERT_WEBHOOK_URL: 'slack' })).toThrow(/ALERT_WEBHOOK_URL/);
  });
});
