import { builder } from '../builder.js';
import { CategoryRef, LanguageRef } from '../refs.js';
import { referenceData } from '../../src/services/reference-data.js';

// A Thing's category and language are its `{ id }` as read (Thing.category has no resolver, so none runs per thing of a
// list): the text comes from the reference data by id; an id it does not know shows its own text, or else the id.
const categoriesById = new Map(referenceData.categories.map((c) => [c.id, c]));
const languagesById = new Map(referenceData.languages.map((l) => [l.id, l]));

CategoryRef.implement({
  description: 'A thing category. Not a Node: categories are identified by their string `id`.',
  fields: (t) => ({
    id: t.exposeString('id', { description: 'Category id, e.g. "text".' }),
    text: t.string({ description: 'Display name.', resolve: (category) => categoriesById.get(category.id)?.text ?? category.text ?? category.id }),
  }),
});

LanguageRef.implement({
  description: 'A thing language. Not a Node: languages are identified by their string `id`.',
  fields: (t) => ({
    id: t.exposeString('id', { description: 'Language id, e.g. "en_GB".' }),
    text: t.string({ description: 'Display name.', resolve: (language) => languagesById.get(language.id)?.text ?? language.text ?? language.id }),
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
