import sax from 'sax';
import YAML from 'yaml';
import { CATALOGUE } from '../../../rest-facade/errors.js';
import type { RawResponse } from './raw-http.js';

/**
 * What every answer must look like, whatever was sent: the checks shared by the fuzz and security tests.
 * Each check throws an Error naming what was wrong (fast-check then shrinks the request that caused it).
 */

export interface XmlNode {
  name: string;
  attributes: Record<string, string>;
  children: XmlNode[];
  text: string;
}

/** XML 1.0 `Char` production: anything else in a document makes it not well-formed. */
const NOT_XML_CHAR = /[^\u0009\u000A\u000D\u0020-\uD7FF\uE000-\uFFFD\u{10000}-\u{10FFFF}]/u;

/**
 * Structural well-formedness of the XML subset the renderers emit (declaration, elements, double-quoted attributes,
 * character data and references), because sax in strict mode still accepts `<` in attribute values, `]]>` in text
 * and duplicate attributes. Adapted from the checker in test/activity-formats.test.ts. Returns the first problem.
 */
export function xmlStructureError(xml: string): string | null {
  const DECL = '<?xml version="1.0" encoding="UTF-8"?>\n';
  if (!xml.startsWith(DECL)) return 'missing declaration';
  const NAME = '[A-Za-z_][A-Za-z0-9_.-]*(?::[A-Za-z_][A-Za-z0-9_.-]*)?';
  const REF = /&(?:amp|lt|gt|quot|apos|#[0-9]+|#x[0-9A-Fa-f]+);/y;
  const TAG = new RegExp(`<(/?)(${NAME})((?:\\s+${NAME}\\s*=\\s*"[^"]*")*)\\s*(/?)>`, 'y');
  const ATTR = new RegExp(`(${NAME})\\s*=\\s*"([^"]*)"`, 'g');
  const checkChars = (s: string, where: string): string | null => {
    for (let i = 0; i < s.length; i++) {
      if (s[i] === '<') return `'<' in ${where}`;
      if (s[i] === '&') {
        REF.lastIndex = i;
        if (!REF.test(s)) return `bare '&' in ${where}`;
      }
    }
    return null;
  };
  const stack: string[] = [];
  let pos = DECL.length;
  let roots = 0;
  while (pos < xml.length) {
    const lt = xml.indexOf('<', pos);
    const text = xml.slice(pos, lt < 0 ? xml.length : lt);
    if (text !== '') {
      if (stack.length === 0 && text.trim() !== '') return 'text outside the root element';
      if (text.includes(']]>')) return "']]>' in text";
      const bad = checkChars(text, 'text');
      if (bad) return bad;
    }
    if (lt < 0) break;
    TAG.lastIndex = lt;
    const m = TAG.exec(xml);
    if (!m) return `malformed tag at ${lt}: ${JSON.stringify(xml.slice(lt, lt + 40))}`;
    const [whole, closing, name, attrs, selfClosing] = m;
    if (closing) {
      if (attrs || selfClosing) return 'malformed end tag';
      if (stack.pop() !== name) return `mismatched </${name}>`;
    } else {
      if (stack.length === 0 && ++roots > 1) return 'more than one root element';
      const seen = new Set<string>();
      for (const [, attrName, value] of attrs!.matchAll(ATTR)) {
        if (seen.has(attrName!)) return `duplicate attribute ${attrName}`;
        seen.add(attrName!);
        const bad = checkChars(value!, `attribute ${attrName}`);
        if (bad) return bad;
      }
      if (!selfClosing) stack.push(name!);
    }
    pos = lt + whole.length;
  }
  if (stack.length) return `unclosed <${stack[stack.length - 1]}>`;
  if (roots !== 1) return 'no root element';
  return null;
}

/** Parses with sax in strict mode (well-formedness errors throw) and checks every character is an XML 1.0 Char. */
export function parseXml(text: string): XmlNode {
  const bad = NOT_XML_CHAR.exec(text);
  if (bad) throw new Error(`XML holds a character XML 1.0 forbids: U+${bad[0].codePointAt(0)!.toString(16).padStart(4, '0')}`);
  const structure = xmlStructureError(text);
  if (structure) throw new Error(`XML not well-formed: ${structure}`);
  const parser = sax.parser(true, {});
  const root: XmlNode = { name: '#document', attributes: {}, children: [], text: '' };
  const stack: XmlNode[] = [root];
  let error: Error | null = null;
  parser.onerror = (e) => {
    error ??= e;
  };
  parser.onopentag = (tag) => {
    const node: XmlNode = { name: tag.name, attributes: { ...tag.attributes }, children: [], text: '' };
    stack[stack.length - 1]!.children.push(node);
    stack.push(node);
  };
  parser.onclosetag = () => {
    stack.pop();
  };
  parser.ontext = (t) => {
    stack[stack.length - 1]!.text += t;
  };
  parser.oncdata = (t) => {
    stack[stack.length - 1]!.text += t;
  };
  parser.ondoctype = () => {
    error ??= new Error('unexpected DOCTYPE');
  };
  parser.write(text).close();
  if (error) throw new Error(`XML not well-formed: ${(error as Error).message.split('\n')[0]}`);
  const elements = root.children;
  if (elements.length !== 1) throw new Error(`XML must have one root element, has ${elements.length}`);
  return elements[0]!;
}

export function child(node: XmlNode, name: string): XmlNode | undefined {
  return node.children.find((c) => c.name === name);
}

/** Element text of each child, by name (for flat records such as error bodies). */
export function xmlRecord(node: XmlNode): Record<string, string> {
  return Object.fromEntries(node.children.map((c) => [c.name, c.text]));
}

export function parseYaml(text: string): unknown {
  const document = YAML.parseDocument(text);
  if (document.errors.length > 0) throw new Error(`YAML not well-formed: ${document.errors[0]!.message.split('\n')[0]}`);
  return document.toJS();
}

const JSONP = /^\/\*\*\/([A-Za-z_$][A-Za-z0-9_$]*(?:\.[A-Za-z_$][A-Za-z0-9_$]*)*)\(([\s\S]*)\);$/;

export function parseJsonp(text: string): { callback: string; value: unknown } {
  const match = JSONP.exec(text);
  if (!match) throw new Error(`JSONP body is not /**/callback(...); : ${text.slice(0, 120)}`);
  return { callback: match[1]!, value: JSON.parse(match[2]!) };
}

function mediaType(res: RawResponse): string {
  return (res.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase();
}

/** Node's own answers to requests it cannot parse (400, 413, 414, 431): no body, no application headers. */
export function isTransportRejection(res: RawResponse): boolean {
  return [400, 408, 413, 414, 431].includes(res.status) && res.body.length === 0 && res.headers['content-type'] === undefined;
}

/** The body, parsed according to its Content-Type, checking it is well-formed. */
export function parseBody(res: RawResponse): { format: string; value: unknown } {
  const type = mediaType(res);
  const charset = /charset=utf-8/i.test(res.headers['content-type'] ?? '');
  if (res.body.length > 0 && !charset && type !== '') throw new Error(`Content-Type without charset=utf-8: ${res.headers['content-type']}`);
  // The body must be valid UTF-8 whatever its format.
  new TextDecoder('utf-8', { fatal: true }).decode(res.body);
  switch (type) {
    case 'application/json':
    case 'application/stream+json':
      return { format: 'json', value: JSON.parse(res.text) };
    case 'application/javascript':
      if (res.headers['x-content-type-options'] !== 'nosniff') throw new Error('JSONP without X-Content-Type-Options: nosniff');
      return { format: 'jsonp', value: parseJsonp(res.text).value };
    case 'text/xml':
    case 'application/atom+xml':
      return { format: type === 'text/xml' ? 'xml' : 'atom', value: parseXml(res.text) };
    case 'application/yaml':
      return { format: 'yaml', value: parseYaml(res.text) };
    case 'text/plain':
      return { format: 'txt', value: res.text };
    case 'text/html':
      return { format: 'html', value: res.text };
    default:
      throw new Error(`unexpected Content-Type ${JSON.stringify(res.headers['content-type'])} with a ${res.body.length}-byte body`);
  }
}

export interface RestErrorFacts {
  error: string;
  error_description: string;
  error_uri: string;
}

/** The spec §6.1 error body of a REST error answer, in whatever format it came (JSON, XML, YAML, JSONP). */
export function restErrorBody(res: RawResponse): Record<string, unknown> {
  const { format, value } = parseBody(res);
  if (format === 'xml') {
    const root = value as XmlNode;
    if (root.name !== 'response') throw new Error(`XML error root is <${root.name}>, not <response>`);
    return xmlRecord(root);
  }
  if (format === 'json' || format === 'jsonp' || format === 'yaml') {
    if (value === null || typeof value !== 'object' || Array.isArray(value)) throw new Error('error body is not an object');
    return value as Record<string, unknown>;
  }
  throw new Error(`a REST error answered as ${format}`);
}

const ERROR_KEYS = ['error', 'error_description', 'error_uri'];
const LOOKUP_NOT_FOUND_KEYS = ['message', 'description', ...ERROR_KEYS];

/** Spec §6: every REST 4xx/5xx is {error, error_description, error_uri} with a catalogue code and its status. */
export function assertRestError(res: RawResponse, docsUrl: string): RestErrorFacts {
  const body = restErrorBody(res);
  const keys = Object.keys(body);
  const shapeOk = JSON.stringify(keys) === JSON.stringify(ERROR_KEYS) || JSON.stringify(keys) === JSON.stringify(LOOKUP_NOT_FOUND_KEYS);
  if (!shapeOk) throw new Error(`error body keys ${JSON.stringify(keys)}`);
  const code = String(body.error);
  if (!Object.hasOwn(CATALOGUE, code)) throw new Error(`error code ${JSON.stringify(code)} is not in the catalogue`);
  const expected = CATALOGUE[code as keyof typeof CATALOGUE].status;
  // "Requires ssl" is the one catalogue pair with another status (401 invalid_request).
  if (res.status !== expected && !(code === 'invalid_request' && res.status === 401)) {
    throw new Error(`error ${code} answered with ${res.status}, catalogue says ${expected}`);
  }
  if (typeof body.error_description !== 'string' || body.error_description === '') throw new Error('empty error_description');
  if (typeof body.error_uri !== 'string' || !body.error_uri.startsWith(`${docsUrl}/api/`)) throw new Error(`error_uri ${String(body.error_uri)}`);
  assertNoLeak(res.text);
  return body as unknown as RestErrorFacts;
}

/** RFC 6749 §5.2 codes the spec's §14 table uses. */
export const OAUTH_ERROR_CODES = new Set([
  'invalid_request',
  'invalid_client',
  'invalid_grant',
  'unauthorized_client',
  'unsupported_grant_type',
  'unsupported_response_type',
  'invalid_scope',
  'access_denied',
]);

/** Spec §14: OAuth JSON error bodies are {error, error_description, error_uri} with error_uri {docs}/api/#authorization. */
export function assertOAuthError(res: RawResponse, docsUrl: string): string {
  if (mediaType(res) !== 'application/json') throw new Error(`OAuth error with Content-Type ${res.headers['content-type']}`);
  const body = JSON.parse(res.text) as Record<string, unknown>;
  if (JSON.stringify(Object.keys(body)) !== JSON.stringify(ERROR_KEYS)) throw new Error(`OAuth error keys ${JSON.stringify(Object.keys(body))}`);
  if (!OAUTH_ERROR_CODES.has(String(body.error))) throw new Error(`OAuth error code ${JSON.stringify(body.error)}`);
  if (body.error_uri !== `${docsUrl}/api/#authorization`) throw new Error(`OAuth error_uri ${String(body.error_uri)}`);
  if (body.error === 'invalid_client' && res.status === 401 && res.headers['www-authenticate'] !== 'Basic realm="flattr"') {
    throw new Error('401 invalid_client without the Basic challenge (D89)');
  }
  if (![400, 401, 429].includes(res.status)) throw new Error(`OAuth error with status ${res.status}`);
  assertNoLeak(res.text);
  return String(body.error);
}

/** What an answer must never show: stack frames, SQL, driver or ORM internals, file paths. */
const LEAKS: [RegExp, string][] = [
  [/\bat [\w.<>]+ \(?(?:file:\/\/)?\/[^\s)]+:\d+:\d+\)?/, 'a stack frame'],
  [/\/work\/|node_modules|\.ts:\d+/, 'a source path'],
  [/\b(?:select|insert into|update|delete from)\b[\s\S]{0,80}\b(?:from|values|set|where)\b/i, 'SQL'],
  [/DriverException|QueryFailedError|PostgreSQL|pg_catalog|violates .* constraint|syntax error at or near|MikroORM|knex/i, 'database internals'],
  [/RangeError|TypeError|ReferenceError|Maximum call stack/, 'a JavaScript error'],
];

export function assertNoLeak(text: string): void {
  for (const [pattern, what] of LEAKS) {
    const found = pattern.exec(text);
    if (found) throw new Error(`answer leaks ${what}: ${JSON.stringify(found[0].slice(0, 120))}`);
  }
}

export interface HtmlTag {
  name: string;
  attributes: [string, string][];
}

/**
 * The start tags of an HTML document with their attributes, read the way a browser tokenizer would (quoted values
 * may hold `>`; comments and raw text are skipped). Enough to see whether request text became markup: an element or
 * attribute that the page's own template does not have.
 */
export function htmlTags(html: string): HtmlTag[] {
  const tags: HtmlTag[] = [];
  let i = 0;
  while (i < html.length) {
    const lt = html.indexOf('<', i);
    if (lt < 0) break;
    if (html.startsWith('<!--', lt)) {
      const end = html.indexOf('-->', lt + 4);
      i = end < 0 ? html.length : end + 3;
      continue;
    }
    const nameMatch = /^<([A-Za-z][A-Za-z0-9-]*)/.exec(html.slice(lt, lt + 64));
    if (!nameMatch) {
      i = lt + 1;
      continue;
    }
    const tag: HtmlTag = { name: nameMatch[1]!.toLowerCase(), attributes: [] };
    let j = lt + nameMatch[0].length;
    for (;;) {
      while (j < html.length && /\s|\//.test(html[j]!)) j++;
      if (j >= html.length || html[j] === '>') break;
      const attr = /^[^\s"'>/=]+/.exec(html.slice(j));
      if (!attr) {
        j++;
        continue;
      }
      const name = attr[0].toLowerCase();
      j += attr[0].length;
      while (j < html.length && /\s/.test(html[j]!)) j++;
      let value = '';
      if (html[j] === '=') {
        j++;
        while (j < html.length && /\s/.test(html[j]!)) j++;
        const quote = html[j];
        if (quote === '"' || quote === "'") {
          const end = html.indexOf(quote, j + 1);
          value = html.slice(j + 1, end < 0 ? html.length : end);
          j = end < 0 ? html.length : end + 1;
        } else {
          const unquoted = /^[^\s>]*/.exec(html.slice(j))![0];
          value = unquoted;
          j += unquoted.length;
        }
      }
      tag.attributes.push([name, value]);
    }
    tags.push(tag);
    i = j + 1;
    if (tag.name === 'script' || tag.name === 'style') {
      const close = html.toLowerCase().indexOf(`</${tag.name}`, i);
      i = close < 0 ? html.length : close;
    }
  }
  return tags;
}

/** Elements a server page of this site never has, and attributes it never uses. */
const FOREIGN_ELEMENTS = new Set(['script', 'img', 'svg', 'iframe', 'object', 'embed', 'base', 'meta-refresh', 'link', 'frame', 'math', 'video', 'audio', 'template']);

/**
 * The site's own scripts, exactly as its pages load them: same-origin files, nothing inline (the CSP allows no
 * more). A request or the data cannot produce these literally, since every value on a page is escaped.
 */
const SITE_SCRIPT_TAGS = ['<script src="/copy-button.js" defer></script>', '<script src="/dashboard.js" defer></script>'];

/** The page without the site's own `<script src>` tags, for checks that no other script is there. */
export function withoutSiteScripts(html: string): string {
  return SITE_SCRIPT_TAGS.reduce((out, tag) => out.replaceAll(tag, ''), html);
}

/** Throws when the page holds markup that could only have come from the request or the data (XSS). */
export function assertNoInjectedMarkup(html: string): void {
  for (const tag of htmlTags(withoutSiteScripts(html))) {
    if (FOREIGN_ELEMENTS.has(tag.name)) throw new Error(`page holds a <${tag.name}> element`);
    for (const [name, value] of tag.attributes) {
      if (name.startsWith('on')) throw new Error(`page holds an event-handler attribute ${name} on <${tag.name}>`);
      if ((name === 'href' || name === 'action' || name === 'src' || name === 'formaction') && /^\s*(?:javascript|data|vbscript):/i.test(value)) {
        throw new Error(`page holds a ${name}="${value.slice(0, 60)}" on <${tag.name}>`);
      }
    }
  }
}
