#!/usr/bin/env node
import { runWorker } from './run-worker.ts';

// `oncehook-worker`: a worker without workflows of its own, forwarding events to the HTTP services
// of DESTINATIONS_FILE, for a team that writes no TypeScript.
await runWorker({ workflows: [] });
