import { builder } from '../builder.js';
import { CategoryRef, LanguageRef } from '../refs.js';
import { referenceData } from '../../src/services/reference-data.js';

CategoryRef.implement({
  description: 'A thing category. Not a Node: categories are identified by their string `id`.',
  fields: (t) => ({
    id: t.exposeString('id', { description: 'Category id, e.g. "text".' }),
    text: t.exposeString('text', { description: 'Display name.' }),
  }),
});

LanguageRef.implement({
  description: 'A thing language. Not a Node: languages are identified by their string `id`.',
  fields: (t) => ({
    id: t.exposeString('id', { description: 'Language id, e.g. "en_GB".' }),
    text: t.exposeString('text', { description: 'Display name.' }),
  }),
});

builder.queryFields((t) => ({
  categories: t.field({
    type: [CategoryRef],
    description: 'Every category, in the served order.',
    resolve: () => referenceData.categories,
  }),
  languages: t.field({
    type: [LanguageRef],
    description: 'Every language, in the served order.',
    resolve: () => referenceData.languages,
  }),
}));
