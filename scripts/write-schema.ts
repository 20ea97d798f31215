import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { schema } from '../schema/index.js';
import { schemaSdl } from '../schema/sdl.js';

/**
 * `npm run schema:write`: writes the served schema to `schema.graphql` at the repository root. Run it after changing
 * the schema and commit the file with the change; `npm test` fails while they differ, and refuses a breaking change
 * that was not deprecated first (test/graphql-contract.test.ts).
 */
const target = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', 'schema.graphql');
const sdl = schemaSdl(schema);
const before = fs.existsSync(target) ? fs.readFileSync(target, 'utf8') : null;
fs.writeFileSync(target, sdl);
process.stdout.write(before === sdl ? 'schema.graphql is up to date\n' : `wrote ${target}\n`);
