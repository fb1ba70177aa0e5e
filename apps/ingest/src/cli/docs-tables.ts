import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { withGeneratedTables } from '../providers/docs-tables.ts';

/** pnpm docs:providers: rewrites the generated tables of docs/providers.md from the provider modules. */
const file = join(import.meta.dirname, '../../../../docs/providers.md');
writeFileSync(file, withGeneratedTables(readFileSync(file, 'utf8')));
console.log(`${file}: provider tables written`);
