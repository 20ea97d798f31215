import type { FormatKey } from './formats/media-types.js';
import type { Viewer } from '../src/services/tokens.js';

/** The transport-neutral view of a REST call that route declarations read. */
export interface RestRequest {
  method: string;
  params: Record<string, string>;
  /** Query string, first occurrence wins (spec D14). */
  query: Map<string, string>;
  /** Body parameters for POST/PUT/PATCH/DELETE (spec §4.2). */
  body: Map<string, unknown>;
  format: FormatKey;
  viewer: Viewer | null;
  /** Upper bound for `count` (MAX_PAGE_SIZE, spec D20). */
  maxPageSize: number;
  /** Bases of generated URLs and tag ids (spec §1.3, §13). */
  links: { apiUrl: string; siteUrl: string; tagAuthority: string };
}
