import { baseEnv, httpUrl, int, onConfigError, optional, parseEnv, withDefault } from '@oncehook/shared';
import { z } from 'zod';
import { loadDestinations } from './forwarding/destinations-file.ts';

/** The worker's environment: the only place it reads `process.env`. */
const shape = {
  ...baseEnv,
  WORKER_CONCURRENCY: withDefault(int(1, 1000), 50),
  /** A step result larger than this fails the step instead of being stored with its marker. */
  STEP_RESULT_MAX_BYTES: withDefault(int(256, 16 * 1024 * 1024), 64 * 1024),
  /** /metrics, /healthz and /readyz on this port; 0 turns that HTTP server off. */
  METRICS_PORT: withDefault(int(0, 65535), 9464),
  /** A JSON POST (`{"text": …}`, Slack-compatible) when a workflow fails for good, once per failure. */
  ALERT_WEBHOOK_URL: optional(httpUrl),
  /**
   * How often an event parked in its ordering lane wakes to look at the lane (ms): a holder whose
   * job is gone or finished without releasing it is then released for it.
   */
  PARKED_RECHECK_MS: withDefault(int(100, 24 * 60 * 60 * 1000), 5 * 60 * 1000),
  /** Custom sources (the ingest's file): a workflow may be triggered by them too. */
  SOURCES_FILE: optional(z.string().min(1)),
  /** The HTTP services events are forwarded to (forwarding/destinations-file.ts). */
  DESTINATIONS_FILE: optional(z.string().min(1)),
  /**
   * The partitions this worker takes jobs from (`0,2`; counted from 0), of QUEUE_PARTITIONS.
   * Default: all. Partitions of an earlier QUEUE_PARTITIONS are drained by every worker.
   */
  WORKER_PARTITIONS: optional(
    z
      .string()
      .regex(/^\d+(,\d+)*$/, 'partition numbers counted from 0, comma-separated, e.g. 0,2')
      .transform((v) => [...new Set(v.split(',').map(Number))].sort((a, b) => a - b)),
  ),
};

/** `more`: problems with the application's own configuration, reported with the worker's. */
export const parseWorkerEnv = (env: Record<string, string | undefined> = process.env, more: string[] = []) =>
  parseEnv(shape, env, (vars, problem) => {
    // The fixed variables are parsed by then; this only compares the two.
    const count = Number(vars.QUEUE_PARTITIONS || 1);
    const wanted = vars.WORKER_PARTITIONS?.split(',').map(Number) ?? [];
    const outside = wanted.filter((p) => Number.isInteger(count) && p >= count);
    if (outside.length > 0) {
      problem(
        `WORKER_PARTITIONS: ${outside.join(',')} not among QUEUE_PARTITIONS=${count} partitions (0-${count - 1})`,
      );
    }
    const file = vars.DESTINATIONS_FILE;
    const destinations = file ? loadDestinations(file, vars, problem) : [];
    for (const p of more) problem(p);
    // The default port taken means a second worker on this machine; a port set on purpose, an error.
    return {
      metricsPortChosen: Boolean(vars.METRICS_PORT),
      destinations,
    };
  });

export type WorkerEnv = ReturnType<typeof parseWorkerEnv>;

/** For `main.ts` (and the CLI): a bad configuration prints every problem and stops the process. */
export const orExit = <T>(build: () => T): T => onConfigError(build, (code) => process.exit(code));
