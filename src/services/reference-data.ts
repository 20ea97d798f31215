import { createRequire } from 'node:module';
import type { EntityManager } from '@mikro-orm/postgresql';

export interface ReferenceEntry {
  id: string;
  text: string;
}

interface ReferenceFile {
  default_category: string;
  default_language: string;
  categories: ReferenceEntry[];
  languages: ReferenceEntry[];
}

const require = createRequire(import.meta.url);
const file = require('../reference-data.json') as ReferenceFile;

export const referenceData = {
  defaultCategory: file.default_category,
  defaultLanguage: file.default_language,
  categories: file.categories.map(({ id, text }) => ({ id, text })),
  languages: file.languages.map(({ id, text }) => ({ id, text })),
};

/** Makes the categories and languages tables hold exactly the reference file (spec §15), in its order. */
export async function loadReferenceData(em: EntityManager): Promise<void> {
  const conn = em.getConnection();
  await em.transactional(async () => {
    for (const [table, entries] of [['categories', referenceData.categories], ['languages', referenceData.languages]] as const) {
      for (const [position, entry] of entries.entries()) {
        await conn.execute(
          `insert into "${table}" ("id", "text", "position") values (?, ?, ?)
           on conflict ("id") do update set "text" = excluded."text", "position" = excluded."position"`,
          [entry.id, entry.text, position],
        );
      }
    }
  });
}
