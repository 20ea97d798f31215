import type { ParsedBody } from '../body.js';
import type { FormatKey } from '../formats/media-types.js';
import type { RestRequest } from '../request.js';
import type { OperationRoute } from '../route.js';
import type { Viewer } from '../../src/http/viewer.js';

/** Step "parse" (spec §6.5 step 11): the transport-neutral request routes read, and the operation it calls for. */

export interface RequestSettings {
  maxPageSize: number;
  apiUrl: string;
  siteUrl: string;
  tagAuthority: string;
}

export function restRequest(input: {
  method: string;
  params: Record<string, string>;
  query: Map<string, string>;
  rawQuery: string;
  body: Pick<ParsedBody, 'params' | 'kind' | 'rawForm'>;
  format: FormatKey;
  viewer: Viewer | null;
  settings: RequestSettings;
}): RestRequest {
  const { settings } = input;
  return {
    method: input.method,
    params: input.params,
    query: input.query,
    rawQuery: input.rawQuery,
    body: input.body.params,
    bodyKind: input.body.kind,
    rawForm: input.body.rawForm,
    format: input.format,
    viewer: input.viewer,
    maxPageSize: settings.maxPageSize,
    links: { apiUrl: settings.apiUrl, siteUrl: settings.siteUrl, tagAuthority: settings.tagAuthority },
  };
}

/** The GraphQL operation a route runs, by name, with its variables. */
export interface OperationCall {
  name: string;
  variables: Record<string, unknown>;
}

/** The route's variables (throwing `400 invalid_parameters` for invalid parameters), then its operation's name. */
export function operationCall(route: OperationRoute, request: RestRequest): OperationCall {
  const variables = route.variables(request);
  const name = typeof route.operation === 'string' ? route.operation : route.operation(request);
  return { name, variables };
}
