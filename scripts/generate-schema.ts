/**
 * Writes schema/scenario.schema.json from the zod schema in harness/scenario/schema.ts, the one
 * source of truth. `npm run schema` after changing the schema; test/unit/schema.test.ts fails
 * while the committed file differs from what this writes.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { scenarioJsonSchemaText } from '../harness/scenario/schema';

const out = join(__dirname, '..', 'schema', 'scenario.schema.json');
writeFileSync(out, scenarioJsonSchemaText());
process.stdout.write(`wrote ${out}\n`);
