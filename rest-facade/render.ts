import { contentTypeFor, type FormatKey } from './formats/media-types.js';
import { renderJson } from './formats/json.js';
import { renderXml } from './formats/xml.js';
import { renderYaml } from './formats/yaml.js';
import { renderTxt, type TxtEntry } from './formats/txt.js';

export interface RenderedBody {
  contentType: string;
  body: string;
}

/** Serialises a v2 body in one of the plain formats (activity formats arrive with their endpoints). */
export function renderBody(format: FormatKey, root: string, value: unknown): RenderedBody {
  switch (format) {
    case 'xml':
      return { contentType: contentTypeFor('xml'), body: renderXml(root, value) };
    case 'yaml':
      return { contentType: contentTypeFor('yaml'), body: renderYaml(value) };
    case 'txt':
      return { contentType: contentTypeFor('txt'), body: renderTxt(value as TxtEntry[]) };
    default:
      return { contentType: contentTypeFor('json'), body: renderJson(value) };
  }
}

/** Spec §6.1: errors use the negotiated format when it is json, xml or yaml, and JSON otherwise. */
export function errorFormat(format: FormatKey | null): FormatKey {
  return format === 'xml' || format === 'yaml' ? format : 'json';
}
