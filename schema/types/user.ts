import { builder, nullWhenUnauthorized } from '../builder.js';
import { UserRef } from '../refs.js';
import { findUserByUsername } from '../../src/services/users.js';
import type { UserEntity } from '../../src/entities/index.js';
import type { GraphQLContext } from '../context.js';

function isViewer(user: UserEntity, ctx: GraphQLContext): boolean {
  return ctx.viewer?.user.id === user.id;
}

export function userResourceUrl(ctx: GraphQLContext, username: string): string {
  return `${ctx.config.apiUrl}/users/${encodeURIComponent(username.toLowerCase())}`;
}

export function userWebUrl(ctx: GraphQLContext, username: string): string {
  return `${ctx.config.siteUrl}/profile/${encodeURIComponent(username.toLowerCase())}`;
}

UserRef.implement({
  description: 'A Flattr user (spec §8.1).',
  fields: (t) => ({
    username: t.exposeString('username'),
    firstname: t.exposeString('firstname'),
    lastname: t.exposeString('lastname'),
    avatar: t.exposeString('avatar', { description: 'URL of a 48x48 image, "" if none.' }),
    about: t.exposeString('about'),
    city: t.exposeString('city'),
    country: t.exposeString('country'),
    url: t.exposeString('url', { description: "The user's website, \"\" if unset." }),
    resourceUrl: t.string({ description: 'The REST v2 resource URL.', resolve: (user, _args, ctx) => userResourceUrl(ctx, user.username) }),
    webUrl: t.string({ description: 'The profile page on the website.', resolve: (user, _args, ctx) => userWebUrl(ctx, user.username) }),
    email: t.string({
      nullable: true,
      description: "Only in the caller's own user, with scope email or extendedread (spec D40); null otherwise.",
      authScopes: (user, _args, ctx) => isViewer(user, ctx) && (ctx.viewer!.scopes.has('email') || ctx.viewer!.scopes.has('extendedread')),
      ...nullWhenUnauthorized,
      resolve: (user) => user.email,
    }),
    registeredAt: t.field({
      type: 'DateTime',
      nullable: true,
      description: "Only in the caller's own user, with scope extendedread (spec D40); null otherwise.",
      authScopes: (user, _args, ctx) => isViewer(user, ctx) && ctx.viewer!.scopes.has('extendedread'),
      ...nullWhenUnauthorized,
      resolve: (user) => user.registeredAt,
    }),
  }),
});

builder.queryFields((t) => ({
  viewer: t.field({
    type: UserRef,
    nullable: true,
    description: 'The user behind the access token; null without one.',
    resolve: (_root, _args, ctx) => ctx.viewer?.user ?? null,
  }),
  user: t.field({
    type: UserRef,
    nullable: true,
    description: 'A user by username, matched case-insensitively.',
    args: { username: t.arg.string({ required: true }) },
    resolve: (_root, { username }, ctx) => findUserByUsername(ctx.em, username),
  }),
}));
