import { builder, nullWhenUnauthorized } from '../builder.js';
import { UserRef } from '../refs.js';
import { findUserRecordByUsername, findUserRecordWithThings } from '../../src/services/users.js';
import { plannedThingsWindow, rememberThingsPage } from '../prefetched-things.js';
import { viewerOfRead } from '../loaders.js';
import type { UserRecord } from '../../src/services/read-model/rows.js';
import type { GraphQLContext } from '../context.js';

function isViewer(user: UserRecord, ctx: GraphQLContext): boolean {
  return ctx.viewer?.user.id === user.id;
}

export function userResourceUrl(ctx: GraphQLContext, username: string): string {
  return `${ctx.config.apiUrl}/users/${encodeURIComponent(username.toLowerCase())}`;
}

export function userWebUrl(ctx: GraphQLContext, username: string): string {
  return `${ctx.config.siteUrl}/profile/${encodeURIComponent(username.toLowerCase())}`;
}

UserRef.implement({
  description: 'A Flattr user.',
  fields: (t) => ({
    databaseId: t.exposeInt('id', { description: 'The numeric user id in the database.' }),
    username: t.exposeString('username', { description: 'The username, as the user spelled it; matched case-insensitively.' }),
    firstname: t.exposeString('firstname', { description: 'First name, "" if unset.' }),
    lastname: t.exposeString('lastname', { description: 'Last name, "" if unset.' }),
    avatar: t.exposeString('avatar', { description: 'URL of a 48x48 image, "" if none.' }),
    about: t.exposeString('about', { description: 'A text about the user, "" if unset.' }),
    city: t.exposeString('city', { description: 'City, "" if unset.' }),
    country: t.exposeString('country', { description: 'Country, "" if unset.' }),
    url: t.exposeString('url', { description: "The user's website, \"\" if unset." }),
    resourceUrl: t.string({ description: 'The REST v2 resource URL.', resolve: (user, _args, ctx) => userResourceUrl(ctx, user.username) }),
    webUrl: t.string({ description: 'The profile page on the website.', resolve: (user, _args, ctx) => userWebUrl(ctx, user.username) }),
    email: t.string({
      nullable: true,
      description: "Only in the caller's own user, with scope email or extendedread; null otherwise.",
      authScopes: (user, _args, ctx) => isViewer(user, ctx) && (ctx.viewer!.scopes.has('email') || ctx.viewer!.scopes.has('extendedread')),
      ...nullWhenUnauthorized,
      resolve: (user) => user.email,
    }),
    registeredAt: t.field({
      type: 'DateTime',
      nullable: true,
      description: "Only in the caller's own user, with scope extendedread (when the user registered); null otherwise.",
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
    args: { username: t.arg.string({ required: true, description: 'The username, in any case.' }) },
    // With a page of the user's things selected, the user and the page in one statement (schema/prefetched-things.ts).
    resolve: async (_root, { username }, ctx, info) => {
      const window = plannedThingsWindow(info, ctx.config.maxPageSize);
      if (window === null) return findUserRecordByUsername(ctx.em, username);
      const viewer = viewerOfRead(ctx);
      const found = await findUserRecordWithThings(ctx.em, username, viewer, window);
      if (found === null) return null;
      rememberThingsPage(found.user, window, viewer?.userId ?? null, found.things);
      return found.user;
    },
  }),
}));
