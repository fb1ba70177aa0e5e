import { runWorker } from '@oncehook/worker';
import { simulateCrash } from '../../examples/payments/src/crash.ts';
import { readDemoEnv } from '../../examples/payments/src/env.ts';
import { createServices } from '../../examples/payments/src/services/index.ts';
import { WORKFLOWS } from '../../examples/payments/src/workflows/registry.ts';
import { chaosWorkflows } from './workflows.ts';

/**
 * The chaos run's worker: a project's worker as any would write it (runWorker), with the demo's
 * workflows and services and the chaos ones (workflows.ts). Run with `node --import tsx`.
 * CHAOS_PROBE_URL is where the ordered chaos workflow reports its runs.
 */
const { env, problems } = readDemoEnv();
const probeUrl = process.env.CHAOS_PROBE_URL;
await runWorker({
  workflows: [
    ...WORKFLOWS.map((wf) => simulateCrash(wf, env.SIMULATE_CRASH)),
    ...chaosWorkflows({ prefix: process.env.QUEUE_PREFIX ?? 'oncehook', probeUrl: probeUrl ?? '' }),
  ],
  services: (ctx) => createServices(env, ctx),
  configProblems: [
    ...problems,
    ...(probeUrl ? [] : ['CHAOS_PROBE_URL: required (where the ordered runs report)']),
  ],
});
