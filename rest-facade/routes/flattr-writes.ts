import { PLAIN_FORMATS, operationRoute, schemaRef, type RestRoute } from '../route.js';
import { THING_ID_PATH, isThingId, thingGlobalId } from '../params.js';
import { flattrUrlParam } from '../write-params.js';
import { flattrBody, succeeded } from '../shapes/actions.js';
import { THING_404 } from './things.js';

const flattrWrite = { method: 'POST', auth: 'required', scope: 'flattr', family: 'flattrs', formats: PLAIN_FORMATS, root: 'response' } as const;
const FLATTR_403 = 'flattr_owner (your own thing), flattr_once (already flattred this period).';

/** E15, E16: flattring (spec §9.3, §11.6, §12.4); every rule is the mutation's. */
export const flattrWriteRoutes: RestRoute[] = [
  operationRoute({
    ...flattrWrite,
    name: 'E15 things.flattr',
    path: '/things/:id/flattr',
    matches: (params) => isThingId(params.id!),
    operation: 'FlattrThing',
    // No parameters: a body is ignored once it has parsed (step 9).
    parameters: [THING_ID_PATH],
    openapi: {
      operationId: 'flattrThing',
      tag: 'Flattrs',
      summary: 'Flattr a thing (E15)',
      description: 'No parameters; a body is ignored once it parses.',
      returns: schemaRef('Flattred'),
      errors: { '401': 'no_means (no money to flattr with; `WWW-Authenticate: Bearer realm="flattr"`).', '403': FLATTR_403, '404': THING_404 },
    },
    variables: (req) => ({ id: thingGlobalId(req.params.id!) }),
    shape: (data) => flattrBody(succeeded(data.flattrThing).thing),
  }),
  operationRoute({
    ...flattrWrite,
    name: 'E16 flattr.url',
    path: '/flattr',
    operation: 'FlattrUrl',
    parameters: [
      { name: 'url', in: 'query', component: 'flattrUrl', type: 'string', description: 'The URL to flattr, when the body has none (D57).' },
      { name: 'url', in: 'body', type: 'string', required: true, description: 'Absolute http/https URL.' },
    ],
    openapi: {
      operationId: 'flattrUrl',
      tag: 'Flattrs',
      summary: 'Flattr a URL (E16)',
      description:
        'A registered URL or an auto-submit URL (§11.6). `url` from the body, else from the query string (D57); unencoded auto-submit URLs are reassembled (§11.4).',
      body: {
        component: 'FlattrUrl',
        description: 'E16 parameters: the URL to flattr, a registered URL or an auto-submit URL (§11.6); from the body, else the query (D57).',
        required: false,
      },
      returns: schemaRef('Flattred'),
      errors: {
        '400': 'invalid_parameters (url missing or not an absolute http/https URL); validation (owner mismatch, bad inner url, unsupported owner identifier).',
        '401': 'no_means.',
        '403': FLATTR_403,
        '404': 'not_found "No thing was found".',
      },
    },
    variables: (req) => ({ url: flattrUrlParam(req) }),
    shape: (data) => flattrBody(succeeded(data.flattrUrl).thing),
  }),
];
