import { builder } from '../builder.js';
import { CategoryRef, LanguageRef } from '../refs.js';
import { referenceData } from '../../src/services/reference-data.js';

CategoryRef.implement({
  description: 'A thing category (spec §15.1).',
  fields: (t) => ({
    id: t.exposeString('id', { description: 'Category id, e.g. "text".' }),
    text: t.exposeString('text', { description: 'Display name.' }),
  }),
});

LanguageRef.implement({
  description: 'A thing language (spec §15.2).',
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
