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
});
