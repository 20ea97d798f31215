import type { RestRoute } from '../route.js';

type Entries = { id: string; text: string }[];

/** E23, E24: served unchanged from the reference data (spec §15). */
export const referenceRoutes: RestRoute[] = [
  {
    name: 'E23 categories.list',
    method: 'GET',
    path: '/categories',
    auth: 'none',
    family: 'categories',
    formats: ['json', 'xml', 'yaml', 'txt'],
    root: 'categories',
    operation: 'Categories',
    variables: () => ({}),
    shape: (data: { categories: Entries }) => data.categories,
  },
  {
    name: 'E24 languages.list',
    method: 'GET',
    path: '/languages',
    auth: 'none',
    family: 'languages',
    formats: ['json', 'xml', 'yaml', 'txt'],
    root: 'languages',
    operation: 'Languages',
    variables: () => ({}),
    shape: (data: { languages: Entries }) => data.languages,
  },
];
