import { runIngest } from '@oncehook/ingest';
import { demoRoutes } from './routes.ts';

// The example's ingest: oncehook's, with the ledger and subscription routes beside it.
runIngest({ routes: demoRoutes });
