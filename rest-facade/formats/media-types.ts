export type FormatKey = 'json' | 'xml' | 'yaml' | 'as' | 'atom' | 'txt';

export interface FormatInfo {
  /** Value of the `Content-Type` response header. */
  readonly contentType: string;
  /** Media types (lower case) that select this format in `Accept`. */
  readonly acceptTypes: readonly string[];
  /** Path suffix, including the dot. */
  readonly suffix: string;
}

/** Spec §5.1. `application/xml` is deliberately absent (D21). */
export const FORMATS: Readonly<Record<FormatKey, FormatInfo>> = {
  json: {
    contentType: 'application/json; charset=utf-8',
    acceptTypes: ['application/json'],
    suffix: '.json',
  },
  xml: {
    contentType: 'text/xml; charset=utf-8',
    acceptTypes: ['text/xml'],
    suffix: '.xml',
  },
  yaml: {
    contentType: 'application/yaml; charset=utf-8',
    acceptTypes: ['application/yaml', 'text/yaml', 'application/x-yaml', 'text/x-yaml'],
    suffix: '.yaml',
  },
  as: {
    contentType: 'application/stream+json; charset=utf-8',
    acceptTypes: ['application/stream+json'],
    suffix: '.as',
  },
  atom: {
    contentType: 'application/atom+xml; charset=utf-8',
    acceptTypes: ['application/atom+xml'],
    suffix: '.atom',
  },
  txt: {
    contentType: 'text/plain; charset=utf-8',
    acceptTypes: ['text/plain'],
    suffix: '.txt',
  },
};

export const FORMAT_KEYS: readonly FormatKey[] = ['json', 'xml', 'yaml', 'as', 'atom', 'txt'];

export function contentTypeFor(format: FormatKey): string {
  return FORMATS[format].contentType;
}

/** `'.xml'` → `'xml'`; anything that is not one of the six suffixes → null. */
export function formatForSuffix(suffix: string): FormatKey | null {
  for (const key of FORMAT_KEYS) {
    if (FORMATS[key].suffix === suffix) return key;
  }
  return null;
}
