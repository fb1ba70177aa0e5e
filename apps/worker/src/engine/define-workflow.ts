import type {
  Ordering,
  StepDefinition,
  StepFn,
  WorkflowDefinition,
  WorkflowEvent,
  WorkflowTrigger,
} from './workflow.ts';

/**
 * Builds a workflow as a list of named steps. Each `.step()` adds the step's result type to
 * `ctx.results` for the steps after it:
 *
 *   defineWorkflow<Services>('payment', { source: 'demo', type: 'payment.succeeded' })
 *     .step('validate', (event) => parsePayment(event.body), { pure: true })
 *     .step('charge', (_event, ctx) => charge(ctx, ctx.results.validate))
 */
export class Workflow<Services, Results extends Record<string, unknown>>
  implements WorkflowDefinition<Services>
{
  constructor(
    readonly name: string,
    readonly on: readonly WorkflowTrigger[],
    readonly steps: readonly StepDefinition<Services>[] = [],
    readonly ordered?: Ordering,
  ) {}

  /** Runs one event per ordering key at a time, in provider order (workflow.ts `Ordering`). */
  orderedBy(ordering: Ordering = true): Workflow<Services, Results> {
    return new Workflow(this.name, this.on, this.steps, ordering);
  }

  step<Name extends string, Out>(
    name: Name extends keyof Results ? never : Name,
    run: StepFn<Services, Results, Out>,
    options: { pure?: boolean } = {},
  ): Workflow<Services, Results & { [K in Name]: Awaited<Out> }> {
    const step: StepDefinition<Services> = {
      name,
      run: (event: WorkflowEvent, ctx) => run(event, ctx as Parameters<typeof run>[1]),
      ...(options.pure ? { pure: true } : {}),
    };
    return new Workflow(this.name, this.on, [...this.steps, step], this.ordered);
  }
}

export function defineWorkflow<Services>(
  name: string,
  on: WorkflowTrigger | readonly WorkflowTrigger[],
  // biome-ignore lint/complexity/noBannedTypes: the empty start of the accumulated results type
): Workflow<Services, {}> {
  return new Workflow(name, Array.isArray(on) ? on : [on as WorkflowTrigger]);
}

/**
 * A `defineWorkflow` bound to your services' type, so that steps see `ctx.services` typed without
 * a type argument in every file:
 *
 *   export const { defineWorkflow } = createWorkflows<Services>();
 */
export function createWorkflows<Services>() {
  return {
    defineWorkflow: (name: string, on: WorkflowTrigger | readonly WorkflowTrigger[]) =>
      defineWorkflow<Services>(name, on),
  };
}
