import { listOf, operationRoute, type RestRoute } from '../route.js';

/** E23, E24: served unchanged from the reference data (spec §15). */
export const referenceRoutes: RestRoute[] = [
  operationRoute({
    name: 'E23 categories.list',
    method: 'GET',
    path: '/categories',
    auth: 'none',
    family: 'categories',
    formats: ['json', 'xml', 'yaml', 'txt'],
    root: 'categories',
    operation: 'Categories',
    parameters: [],
    openapi: { operationId: 'listCategories', tag: 'Reference data', summary: 'Every category (E23)', returns: listOf('Category') },
    variables: () => ({}),
    shape: (data) => data.categories,
  }),
  operationRoute({
    name: 'E24 languages.list',
    method: 'GET',
    path: '/languages',
    auth: 'none',
    family: 'languages',
    formats: ['json', 'xml', 'yaml', 'txt'],
    root: 'languages',
    operation: 'Languages',
    parameters: [],
    openapi: { operationId: 'listLanguages', tag: 'Reference data', summary: 'Every language (E24)', returns: listOf('Language') },
    variables: () => ({}),
    shape: (data) => data.languages,
  }),
];
