/**
 * @oncehook/ingest: verified, deduplicated webhooks, durable before the 200. `oncehook-ingest`
 * runs it from the environment; `runIngest()` embeds it, with routes of your own beside it.
 */
export type { ExtraRoutes } from './app.ts';
export { ApiError, unavailable } from './errors.ts';
export { type RunIngestOptions, runIngest } from './run-ingest.ts';
