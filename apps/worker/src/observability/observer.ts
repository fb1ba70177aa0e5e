import type { Logger } from '@oncehook/shared';
import type { RunObserver } from '../engine/run-workflow.ts';
import type { AlertResult, FailedRun } from './failure-alert.ts';
import type { WorkerMetrics } from './metrics.ts';

/** What the engine tells about runs, turned into metrics and, for a failure for good, the alert. */
export function createRunObserver({
  metrics,
  alert,
  log,
}: {
  metrics?: WorkerMetrics | undefined;
  alert?: ((run: FailedRun) => Promise<AlertResult>) | undefined;
  log: Logger;
}): RunObserver {
  return {
    stepDone: (workflow, step, seconds) => metrics?.stepDone(workflow, step, seconds),
    async runEnded(end, run) {
      metrics?.runEnded(run.workflow, end);
      if (end !== 'failed' || !alert) return;
      // Never throws: an alert that cannot be sent must not change what happens to the job.
      const result = await alert(run).catch((err: Error) => {
        log.warn({ err: err.message }, 'could not send the failure alert');
        return 'failed' as const;
      });
      if (result === 'sent' || result === 'failed') metrics?.alert(result);
      if (result === 'failed')
        log.error({ source: run.event.source, eventId: run.event.eventId }, 'the failure alert was not sent');
    },
  };
}
