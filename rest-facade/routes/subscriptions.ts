import { missingToken, insufficientScope } from '../access-token.js';
import { PLAIN_FORMATS, type RestRoute } from '../route.js';
import { fullFlag, isThingId, thingGlobalId } from '../params.js';
import { subscription, type GqlSubscription } from '../shapes/v2-objects.js';
import { subscribeBody, succeeded, toggleBody, type GqlActionThing, type GqlMutationResult } from '../shapes/actions.js';
import type { RestRequest } from '../request.js';

type ViewerSubscriptions = { viewer: { subscriptions: GqlSubscription[] | null } | null };

const subscriptionRoute = { auth: 'required', scope: 'flattr', family: 'subscriptions', formats: PLAIN_FORMATS } as const;
const thingSubscription = { ...subscriptionRoute, path: '/things/:id/subscriptions', matches: (params: Record<string, string>) => isThingId(params.id!), root: 'response' } as const;
const thingId = (req: RestRequest) => ({ thingId: thingGlobalId(req.params.id!) });

/** E17–E20: subscriptions (spec §9.4), all with scope flattr; every rule is the mutation's. */
export const subscriptionRoutes: RestRoute[] = [
  {
    ...subscriptionRoute,
    name: 'E17 user.subscriptions',
    method: 'GET',
    path: '/user/subscriptions',
    root: 'subscriptions',
    operation: 'ViewerSubscriptions',
    // D59: the whole list; count and page are ignored.
    variables: (req) => ({ full: fullFlag(req) }),
    shape: (data: ViewerSubscriptions, req) => {
      if (!data.viewer) throw missingToken();
      if (!data.viewer.subscriptions) throw insufficientScope('flattr');
      return data.viewer.subscriptions.map((s) => subscription(s, fullFlag(req)));
    },
  },
  {
    ...thingSubscription,
    name: 'E18 things.subscribe',
    method: 'POST',
    operation: 'Subscribe',
    variables: thingId,
    shape: (data: { subscribe: GqlMutationResult<{ thing: GqlActionThing }> }) => subscribeBody(succeeded(data.subscribe).thing),
  },
  {
    ...thingSubscription,
    // Also POST with _method=put (D4). Any body is ignored.
    name: 'E19 things.subscriptions.toggle',
    method: 'PUT',
    operation: 'ToggleSubscription',
    variables: thingId,
    shape: (data: { toggleSubscription: GqlMutationResult<{ subscription: { active: boolean } }> }) =>
      toggleBody(succeeded(data.toggleSubscription).subscription.active),
  },
  {
    ...thingSubscription,
    name: 'E20 things.unsubscribe',
    method: 'DELETE',
    status: 204,
    operation: 'Unsubscribe',
    variables: thingId,
    shape: (data: { unsubscribe: GqlMutationResult<object> }) => {
      succeeded(data.unsubscribe);
      return null;
    },
  },
];
