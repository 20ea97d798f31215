import { hash } from 'node:crypto';
import { contentTypeFor, type FormatKey } from './formats/media-types.js';
import { JSONP_CONTENT_TYPE, renderJson, renderJsonp } from './formats/json.js';
import { renderXml } from './formats/xml.js';
import { renderYaml } from './formats/yaml.js';
import { renderTxt, type TxtEntry } from './formats/txt.js';
import { activityStreamsDocument } from './formats/activity-streams.js';
import { renderAtom } from './formats/atom.js';
import type { Feed } from './shapes/feeds.js';

export interface RenderedBody {
  contentType: string;
  body: string;
}

/** What a successful route produced: the v2 body, and the feed for the Activity Streams formats. */
export interface RouteOutput {
  root: string;
  value: unknown;
  feed?: () => Feed;
}

/** Serialises a route's output in the negotiated format (spec §5, §13.3). */
export function renderOutput(format: FormatKey, output: RouteOutput, now: Date, siteUrl: string): RenderedBody {
  switch (format) {
    case 'xml':
      return { contentType: contentTypeFor('xml'), body: renderXml(output.root, output.value) };
    case 'yaml':
      return { contentType: contentTypeFor('yaml'), body: renderYaml(output.value) };
    case 'txt':
      return { contentType: contentTypeFor('txt'), body: renderTxt(output.value as TxtEntry[]) };
    case 'as':
      return { contentType: contentTypeFor('as'), body: renderJson(activityStreamsDocument(output.feed!().items)) };
    case 'atom': {
      const feed = output.feed!();
      return {
        contentType: contentTypeFor('atom'),
        body: renderAtom({ id: feed.id, title: feed.title, author: { username: feed.username }, siteUrl, now }, feed.items),
      };
    }
    default:
      return { contentType: contentTypeFor('json'), body: renderJson(output.value) };
  }
}

/** Spec §5.10: the JSON representation wrapped as `/**\/cb(...);`. */
export function wrapJsonp(callback: string, rendered: RenderedBody): RenderedBody {
  return { contentType: JSONP_CONTENT_TYPE, body: renderJsonp(callback, rendered.body) };
}

/** Spec §6.1: errors use the negotiated format when it is json, xml or yaml, and JSON otherwise. */
export function errorFormat(format: FormatKey | null): FormatKey {
  return format === 'xml' || format === 'yaml' ? format : 'json';
}

/** Spec D95: a strong ETag, a hash of the exact body bytes (one-shot `crypto.hash`: no Hash object per answer). */
export function strongEtag(body: string): string {
  return `"${hash('sha256', body, 'base64url').slice(0, 32)}"`;
}

/** RFC 9110 §13.1.2: If-None-Match uses weak comparison; `*` matches any current representation. */
export function ifNoneMatchHits(header: string | undefined, etag: string): boolean {
  if (!header) return false;
  if (header.trim() === '*') return true;
  const opaque = (tag: string) => tag.trim().replace(/^W\//, '');
  return header.split(',').some((candidate) => opaque(candidate) === opaque(etag));
}
