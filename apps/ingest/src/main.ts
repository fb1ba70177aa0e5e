#!/usr/bin/env node
import { runIngest } from './run-ingest.ts';

// `oncehook-ingest`: the ingest, configured by its environment.
runIngest();
