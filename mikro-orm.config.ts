// Configuration for the MikroORM CLI (`npm run migration:create`). The server builds its own
// options from the validated config (src/db/orm-options.ts); this file only points the CLI at a database.
import { ormOptions } from './src/db/orm-options.js';

const databaseUrl = process.env.DATABASE_URL;
if (!databaseUrl) {
  throw new Error('Set DATABASE_URL to the database the migration should be diffed against, e.g. postgres://postgres@127.0.0.1:5432/flattr_dev');
}

export default ormOptions({ databaseUrl });
