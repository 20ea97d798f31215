import { FlattrRef, ThingRef, UserRef } from '../refs.js';
import { FLATTR_SOURCES } from '../../src/entities/index.js';
import { builder } from '../builder.js';

const FlattrSource = builder.enumType('FlattrSource', { values: FLATTR_SOURCES });

FlattrRef.implement({
  description: 'One flattr: a user flattred a thing in a period (spec §8.6).',
  fields: (t) => ({
    databaseId: t.exposeInt('id'),
    thing: t.field({ type: ThingRef, resolve: (flattr) => flattr.thing.id }),
    owner: t.field({ type: UserRef, description: 'The user who flattred.', resolve: (flattr) => flattr.user.id }),
    createdAt: t.expose('createdAt', { type: 'DateTime' }),
    period: t.exposeString('period', { description: 'The UTC month, YYYY-MM.' }),
    source: t.field({ type: FlattrSource, resolve: (flattr) => flattr.source }),
  }),
});
