import { createWorkflows } from '@oncehook/worker';
import type { Services } from './services/index.ts';

/** `defineWorkflow` with this example's services typed in every step's `ctx.services`. */
export const { defineWorkflow } = createWorkflows<Services>();
