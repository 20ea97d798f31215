import type { FormatKey } from './formats/media-types.js';
import type { Viewer } from '../src/http/viewer.js';
import type { BodyKind } from './body.js';

/** The transport-neutral view of a REST call that route declarations read. */
export interface RestRequest {
  method: string;
  params: Record<string, string>;
  /** Query string, first occurrence wins (spec D14). */
  query: Map<string, string>;
  /** The query string as sent (still encoded), for the reassembly rule of spec §11.4. */
  rawQuery: string;
  /** Body parameters for POST/PUT/PATCH/DELETE (spec §4.2); JSON values as parsed, `null` already dropped. */
  body: Map<string, unknown>;
  /** How the body came: §11.4 reassembles form bodies, never JSON ones. */
  bodyKind: BodyKind;
  /** The undecoded text of a form body (§11.4); null otherwise. */
  rawForm: string | null;
  format: FormatKey;
  viewer: Viewer | null;
  /** Upper bound for `count` (MAX_PAGE_SIZE, spec D20). */
  maxPageSize: number;
  /** Bases of generated URLs and tag ids (spec §1.3, §13). */
  links: { apiUrl: string; siteUrl: string; tagAuthority: string };
}
