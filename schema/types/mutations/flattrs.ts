import { builder } from '../../builder.js';
import { FlattrRef, ThingRef } from '../../refs.js';
import { flattrThing, flattrUrl, type FlattrOutcome } from '../../../src/services/flattring.js';
import { domainResult, resultUnion } from './errors.js';

const FlattrSuccess = builder.objectRef<FlattrOutcome>('FlattrSuccess').implement({
  fields: (t) => ({
    flattr: t.field({ type: FlattrRef, resolve: (result) => result.flattr }),
    thing: t.field({ type: ThingRef, description: 'The flattred thing; its counters include this flattr.', resolve: (result) => result.thing }),
  }),
});

const FlattrResult = resultUnion('FlattrResult', FlattrSuccess, 'The new flattr, or why it was refused (§12.4, §11.6).');

builder.mutationFields((t) => ({
  flattrThing: t.field({
    type: FlattrResult,
    description: 'Spec E15: flattrs a thing by its numeric id. Scope flattr.',
    authScopes: { scope: 'flattr' },
    args: { id: t.arg.int({ required: true }) },
    resolve: (_root, { id }, ctx) => domainResult(() => flattrThing(ctx.em, ctx.clock, ctx.viewer!.user.id, id, 'click')),
  }),
  flattrUrl: t.field({
    type: FlattrResult,
    description:
      'Spec E16 (§11.6): flattrs the thing of a registered URL or of an auto-submit URL, creating the thing ' +
      'from an auto-submit URL when needed. `url` is the effective url (after the REST §11.4 reassembly). Scope flattr.',
    authScopes: { scope: 'flattr' },
    args: { url: t.arg.string({ required: true }) },
    resolve: (_root, { url }, ctx) =>
      domainResult(() => flattrUrl(ctx.em, ctx.clock, ctx.viewer!.user.id, url, { siteUrl: ctx.config.siteUrl })),
  }),
}));
