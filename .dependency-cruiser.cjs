/**
 * The layers of the code base (README, "Layers"), checked by `npm test` (`npm run lint:layers`):
 *
 *   entities  ←  services  ←  schema (GraphQL)  ←  rest-facade (through GraphQL operations only)
 *                    ↑
 *            website, OAuth, CLI, ops
 *
 * Type-only imports count as well: a type import ties modules together just as much for the reader.
 */
/** @type {import('dependency-cruiser').IConfiguration} */
module.exports = {
  forbidden: [
    {
      name: 'no-cycles',
      severity: 'error',
      comment: 'No import cycles, type-only ones included.',
      from: {},
      to: { circular: true },
    },
    {
      name: 'facade-only-through-graphql',
      severity: 'error',
      comment: 'The REST facade reaches data only through GraphQL operations (and injected authentication): no services, entities or ORM.',
      from: { path: '^rest-facade/' },
      to: { path: ['^src/services/', '^src/entities/', '^src/db/', '@mikro-orm'] },
    },
    {
      name: 'schema-knows-no-http',
      severity: 'error',
      comment: 'The GraphQL schema knows no HTTP layer.',
      from: { path: '^schema/' },
      to: { path: ['^rest-facade/', '^src/server/', '^src/web/', '^src/oauth/', '^src/http/', 'node_modules/(koa|@koa|graphql-yoga)/'] },
    },
    {
      name: 'services-know-no-schema-or-http',
      severity: 'error',
      comment: 'Services know neither the GraphQL schema nor HTTP.',
      from: { path: '^src/services/' },
      to: { path: ['^schema/', '^rest-facade/', '^src/server/', '^src/web/', '^src/oauth/', '^src/http/', 'node_modules/(koa|@koa|graphql-yoga|graphql)/'] },
    },
    {
      name: 'entities-import-nothing-above',
      severity: 'error',
      comment: 'Entities import nothing above them.',
      from: { path: '^src/entities/' },
      to: { path: ['^src/services/', '^schema/', '^rest-facade/', '^src/server/', '^src/web/', '^src/oauth/', '^src/ops/', '^src/rate-limit/', '^src/cli/', '^src/http/'] },
    },
    {
      name: 'website-and-oauth-through-services',
      severity: 'error',
      comment: 'Website and OAuth code reach data only through services: no entities.',
      from: { path: ['^src/web/', '^src/oauth/'] },
      to: { path: ['^src/entities/'] },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    exclude: { path: ['^node_modules', '^dist/'] },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    enhancedResolveOptions: { exportsFields: ['exports'], conditionNames: ['import', 'require', 'node', 'default', 'types'], extensions: ['.ts', '.js', '.json'] },
  },
};
