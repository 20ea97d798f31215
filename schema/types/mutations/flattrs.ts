import { builder } from '../../builder.js';
import { FlattrRef, ThingRef } from '../../refs.js';
import { flattrThing, flattrUrl, type FlattrOutcome } from '../../../src/services/flattring.js';
import { databaseIdOf } from '../../global-id.js';
import { domainResult, resultUnion } from './errors.js';

const FlattrSuccess = builder.objectRef<FlattrOutcome>('FlattrSuccess').implement({
  description: 'The thing was flattred.',
  fields: (t) => ({
    flattr: t.field({ type: FlattrRef, description: 'The new flattr.', resolve: (result) => result.flattr }),
    thing: t.field({ type: ThingRef, description: 'The flattred thing; its counters include this flattr.', resolve: (result) => result.thing }),
  }),
});

const FlattrResult = resultUnion('FlattrResult', FlattrSuccess, 'The new flattr, or why it was refused.');

builder.mutationFields((t) => ({
  flattrThing: t.field({
    type: FlattrResult,
    description: 'Flattrs a thing: once per thing and month, not your own, with money to flattr with. Scope flattr.',
    authScopes: { scope: 'flattr' },
    args: { id: t.arg.id({ required: true, description: 'The global id of the thing.' }) },
    resolve: (_root, { id }, ctx) => {
      const thingId = databaseIdOf(String(id), 'Thing', 'id');
      return domainResult({ id: 'id' }, () => flattrThing(ctx.em, ctx.clock, ctx.viewer!.user.id, thingId, 'click'));
    },
  }),
  flattrUrl: t.field({
    type: FlattrResult,
    description:
      'Flattrs the thing of a registered URL, or of an auto-submit URL, creating the thing from an auto-submit URL ' +
      'when it does not exist yet. Scope flattr.',
    authScopes: { scope: 'flattr' },
    args: { url: t.arg.string({ required: true, description: 'A thing url, or an auto-submit URL (which may create the thing).' }) },
    resolve: (_root, { url }, ctx) =>
      domainResult({ rest: 'url' }, () => flattrUrl(ctx.em, ctx.clock, ctx.viewer!.user.id, url, { siteUrl: ctx.config.siteUrl })),
  }),
}));
