import { FlattrRef, ThingRef, UserRef } from '../refs.js';
import { builder } from '../builder.js';

const FlattrSource = builder.enumType('FlattrSource', {
  description: 'How a flattr was made.',
  values: {
    CLICK: { value: 'click', description: 'The user flattred the thing themself (a click, the API, or flattring a URL).' },
    SUBSCRIPTION: { value: 'subscription', description: "A monthly subscription flattred the thing at the start of a month." },
  } as const,
});

FlattrRef.implement({
  description: 'One flattr: a user flattred a thing in a month. Users can flattr a thing once per month.',
  fields: (t) => ({
    databaseId: t.exposeInt('id', { description: 'The numeric id of the flattr in the database.' }),
    thing: t.field({ type: ThingRef, description: 'The flattred thing.', resolve: (flattr) => flattr.thing.id }),
    owner: t.field({ type: UserRef, description: 'The user who flattred.', resolve: (flattr) => flattr.user.id }),
    createdAt: t.expose('createdAt', { type: 'DateTime', description: 'When the flattr was made.' }),
    period: t.exposeString('period', { description: 'The UTC month of the flattr, YYYY-MM.' }),
    source: t.field({ type: FlattrSource, description: 'How the flattr was made.', resolve: (flattr) => flattr.source }),
  }),
});
