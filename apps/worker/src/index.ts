/**
 * @oncehook/worker: workflows of named steps that run each effect exactly once, from your own
 * code. Define workflows with `defineWorkflow` (or, for typed services, the builder
 * `createWorkflows<Services>()` returns), and run them with `runWorker`.
 */
export type { Logger, OrderingKey, RedisClient } from '@oncehook/shared';
export { thinEventType } from '@oncehook/shared';
export { createWorkflows, defineWorkflow, Workflow } from './engine/define-workflow.ts';
export type {
  Ordering,
  StepContext,
  StepDefinition,
  StepFn,
  StepWrites,
  WorkflowDefinition,
  WorkflowEvent,
  WorkflowTrigger,
} from './engine/workflow.ts';
export { PermanentError } from './engine/workflow.ts';
export type { WorkerEnv } from './env.ts';
export { type RunWorkerOptions, runWorker, type ServicesContext } from './run-worker.ts';
