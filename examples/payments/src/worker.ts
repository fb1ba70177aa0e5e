import { runWorker } from '@oncehook/worker';
import { simulateCrash } from './crash.ts';
import { readDemoEnv } from './env.ts';
import { createServices } from './services/index.ts';
import { WORKFLOWS } from './workflows/registry.ts';

// The example's worker: its workflows, with its services, run by the engine (`npm run start:worker`).
const { env, problems } = readDemoEnv();
await runWorker({
  configProblems: problems,
  workflows: WORKFLOWS.map((wf) => simulateCrash(wf, env.SIMULATE_CRASH)),
  services: (ctx) => createServices(env, ctx),
  describe: {
    payments: env.PAYMENTS_URL ? 'stripe' : 'simulator',
    mailer: env.MAILER_URL ? 'http' : 'simulator',
    ...(env.SIMULATE_CRASH ? { simulateCrash: env.SIMULATE_CRASH } : {}),
  },
});
