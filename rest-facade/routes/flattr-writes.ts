import { PLAIN_FORMATS, type RestRoute } from '../route.js';
import { isThingId, thingGlobalId } from '../params.js';
import { flattrUrlParam } from '../write-params.js';
import { flattrBody, succeeded, type GqlActionThing, type GqlMutationResult } from '../shapes/actions.js';

type FlattrResult = GqlMutationResult<{ thing: GqlActionThing }>;

const flattrWrite = { method: 'POST', auth: 'required', scope: 'flattr', family: 'flattrs', formats: PLAIN_FORMATS, root: 'response' } as const;

/** E15, E16: flattring (spec §9.3, §11.6, §12.4); every rule is the mutation's. */
export const flattrWriteRoutes: RestRoute[] = [
  {
    ...flattrWrite,
    name: 'E15 things.flattr',
    path: '/things/:id/flattr',
    matches: (params) => isThingId(params.id!),
    operation: 'FlattrThing',
    // No parameters: a body is ignored once it has parsed (step 9).
    variables: (req) => ({ id: thingGlobalId(req.params.id!) }),
    shape: (data: { flattrThing: FlattrResult }) => flattrBody(succeeded(data.flattrThing).thing),
  },
  {
    ...flattrWrite,
    name: 'E16 flattr.url',
    path: '/flattr',
    operation: 'FlattrUrl',
    variables: (req) => ({ url: flattrUrlParam(req) }),
    shape: (data: { flattrUrl: FlattrResult }) => flattrBody(succeeded(data.flattrUrl).thing),
  },
];
