import { missingToken, insufficientScope } from '../access-token.js';
import { PLAIN_FORMATS, listOf, operationRoute, schemaRef, type RestRoute } from '../route.js';
import { FULL, THING_ID_PATH, fullFlag, isThingId, thingGlobalId } from '../params.js';
import { METHOD_OVERRIDE } from '../write-params.js';
import { subscription } from '../shapes/v2-objects.js';
import { subscribeBody, succeeded, toggleBody } from '../shapes/actions.js';
import type { RestRequest } from '../request.js';
import { THING_404 } from './things.js';

const subscriptionRoute = { auth: 'required', scope: 'flattr', family: 'subscriptions', formats: PLAIN_FORMATS } as const;
const thingSubscription = { ...subscriptionRoute, path: '/things/:id/subscriptions', matches: (params: Record<string, string>) => isThingId(params.id!), root: 'response' } as const;
const thingId = (req: RestRequest) => ({ thingId: thingGlobalId(req.params.id!) });
const NO_SUBSCRIPTION_404 = `${THING_404} not_found "No subscription was found".`;

/** E17–E20: subscriptions (spec §9.4), all with scope flattr; every rule is the mutation's. */
export const subscriptionRoutes: RestRoute[] = [
  operationRoute({
    ...subscriptionRoute,
    name: 'E17 user.subscriptions',
    method: 'GET',
    path: '/user/subscriptions',
    root: 'subscriptions',
    operation: 'ViewerSubscriptions',
    parameters: [FULL],
    openapi: {
      operationId: 'listSubscriptions',
      tag: 'Subscriptions',
      summary: "The token's user's subscriptions (E17)",
      description: 'The whole list, newest first; `count` and `page` are ignored (D59).',
      returns: listOf('Subscription'),
    },
    // D59: the whole list; count and page are ignored.
    variables: (req) => ({ full: fullFlag(req) }),
    shape: (data, req) => {
      if (!data.viewer) throw missingToken();
      if (!data.viewer.subscriptions) throw insufficientScope('flattr');
      return data.viewer.subscriptions.map((s) => subscription(s, fullFlag(req)));
    },
  }),
  operationRoute({
    ...thingSubscription,
    name: 'E18 things.subscribe',
    method: 'POST',
    operation: 'Subscribe',
    parameters: [THING_ID_PATH],
    openapi: {
      operationId: 'subscribe',
      tag: 'Subscriptions',
      summary: 'Subscribe to a thing (E18)',
      returns: schemaRef('Subscribed'),
      errors: { '403': 'thing_owner (your own thing), subscribed (already subscribed, running or paused).', '404': THING_404 },
    },
    variables: thingId,
    shape: (data) => subscribeBody(succeeded(data.subscribe).thing),
  }),
  operationRoute({
    ...thingSubscription,
    // Also POST with _method=put (D4). Any body is ignored.
    name: 'E19 things.subscriptions.toggle',
    method: 'PUT',
    operation: 'ToggleSubscription',
    parameters: [THING_ID_PATH, ...METHOD_OVERRIDE.parameters],
    openapi: {
      operationId: 'toggleSubscription',
      tag: 'Subscriptions',
      summary: 'Pause or resume a subscription (E19)',
      description: 'Also `POST` with `_method=put` (D4). Any body is ignored.',
      body: METHOD_OVERRIDE.body,
      returns: schemaRef('SubscriptionToggled'),
      errors: { '404': NO_SUBSCRIPTION_404 },
    },
    variables: thingId,
    shape: (data) => toggleBody(succeeded(data.toggleSubscription).subscription.active),
  }),
  operationRoute({
    ...thingSubscription,
    name: 'E20 things.unsubscribe',
    method: 'DELETE',
    status: 204,
    operation: 'Unsubscribe',
    parameters: [THING_ID_PATH, ...METHOD_OVERRIDE.parameters],
    openapi: {
      operationId: 'unsubscribe',
      tag: 'Subscriptions',
      summary: 'Remove a subscription (E20)',
      description: 'Also `POST` with `_method=delete` (D4).',
      body: METHOD_OVERRIDE.body,
      errors: { '404': NO_SUBSCRIPTION_404 },
    },
    variables: thingId,
    shape: (data) => {
      succeeded(data.unsubscribe);
      return null;
    },
  }),
];
