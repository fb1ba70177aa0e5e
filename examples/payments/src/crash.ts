import type { WorkflowDefinition } from '@oncehook/worker';

/**
 * SIMULATE_CRASH=<step>: in every workflow, that step fails right after its effect and before its
 * marker, on its first attempt — the worker "crashed" after charging the card. The retry makes the
 * same call with the same idempotency key, and the API answers with the same payment.
 */
export function simulateCrash<S>(
  workflow: WorkflowDefinition<S>,
  step: string | undefined,
): WorkflowDefinition<S> {
  if (!step || !workflow.steps.some((s) => s.name === step)) return workflow;
  return {
    ...workflow,
    steps: workflow.steps.map((s) =>
      s.name !== step
        ? s
        : {
            ...s,
            async run(event, ctx) {
              const result = await s.run(event, ctx);
              if (ctx.attempt === 1) {
                ctx.log.warn({ step, result }, `SIMULATE_CRASH=${step}: crashing before the marker`);
                throw new Error(
                  `SIMULATE_CRASH=${step}: failing after the step's side effect, before its marker`,
                );
              }
              return result;
            },
          },
    ),
  };
}
