import { defineEntity, p } from '@mikro-orm/core';

/** Spec §15.1; rows come from src/reference-data.json, `position` keeps the served order. */
export const Category = defineEntity({
  name: 'Category',
  tableName: 'categories',
  properties: {
    id: p.string().length(32).primary(),
    text: p.string().length(100),
    position: p.integer(),
  },
});

/** Spec §15.2. */
export const Language = defineEntity({
  name: 'Language',
  tableName: 'languages',
  properties: {
    id: p.string().length(32).primary(),
    text: p.string().length(100),
    position: p.integer(),
  },
});
