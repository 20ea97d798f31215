import { MikroORM } from '@mikro-orm/postgresql';
import { ormOptions, type OrmOptionsInput } from './orm-options.js';
import { loadReferenceData } from '../services/reference-data.js';
import { withoutTransactionAsyncContext } from './no-async-context.js';

/** Connects, applies pending migrations and loads the reference data. No schema sync happens at runtime. */
export async function openDatabase(input: OrmOptionsInput): Promise<MikroORM> {
  withoutTransactionAsyncContext();
  const orm = await MikroORM.init(ormOptions(input));
  try {
    await orm.getMigrator().up();
    await loadReferenceData(orm.em.fork());
  } catch (error) {
    await orm.close(true);
    throw error;
  }
  return orm;
}
