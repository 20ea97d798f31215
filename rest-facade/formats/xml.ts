import { js2xml, type Element } from 'xml-js';

const ITEM_NAMES: Readonly<Record<string, string>> = {
  things: 'thing',
  flattrs: 'flattr',
  subscriptions: 'subscription',
  categories: 'category',
  languages: 'language',
  tags: 'tag',
  items: 'item',
};

/** Element name for the members of an array element called `name` (§5.7). */
export function itemName(name: string): string {
  const known = ITEM_NAMES[name];
  if (known !== undefined) return known;
  if (name.length > 1 && name.endsWith('s')) return name.slice(0, -1);
  return 'item';
}

// Keys come from our own field tables; refusing anything else keeps a stray key
// from ever producing markup.
const XML_NAME = /^[A-Za-z_][A-Za-z0-9_.-]*$/;

// XML 1.0 forbids these (§5.7). Lone surrogates are not characters at all and
// could not be encoded as UTF-8, so they go too.
const INVALID_XML_CHARS =
  /[\u0000-\u0008\u000B\u000C\u000E-\u001F\uFFFE\uFFFF]|[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g;

export function escapeXmlText(text: string): string {
  return text
    .replace(INVALID_XML_CHARS, '')
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;');
}

/** Renders `value` as the §5.7 document with root element `rootName`. */
export function renderXml(rootName: string, value: unknown): string {
  const document: Element = {
    declaration: { attributes: { version: '1.0', encoding: 'UTF-8' } },
    elements: [el(rootName, value)],
  };
  return js2xml(document, {
    spaces: 2,
    // Only nil elements self-close; empty strings, objects and arrays get a full tag pair.
    fullTagEmptyElementFn: (_name, element) => (element as Element).attributes?.nil !== 'true',
    // xml-js un-escapes `&amp;` before escaping, which would corrupt a literal
    // "&amp;" in the data, so the text is escaped here from the raw value.
    // For a text node xml-js passes the enclosing element, whose only child it is.
    textFn: (_escaped, _name, element) => escapeXmlText(String((element as Element).elements?.[0]?.text ?? '')),
  });
}

function el(name: string, raw: unknown): Element {
  if (!XML_NAME.test(name)) throw new Error(`Cannot use ${JSON.stringify(name)} as an XML element name`);
  const value = toJsonValue(raw);
  if (value === null || value === undefined) {
    return { type: 'element', name, attributes: { nil: 'true' } };
  }
  if (typeof value === 'string') {
    return value === '' ? { type: 'element', name } : textElement(name, value);
  }
  if (typeof value === 'boolean') {
    return textElement(name, String(value), { type: 'boolean' });
  }
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) return el(name, null);
    return Number.isInteger(value) ? textElement(name, String(value), { type: 'integer' }) : textElement(name, String(value));
  }
  if (Array.isArray(value)) {
    const item = itemName(name);
    return { type: 'element', name, attributes: { type: 'array' }, elements: value.map((v) => el(item, v)) };
  }
  if (typeof value === 'object') {
    const elements = Object.entries(value)
      .filter(([, v]) => isPresent(v))
      .map(([k, v]) => el(k, v));
    return { type: 'element', name, elements };
  }
  return el(name, null);
}

function textElement(name: string, text: string, attributes?: Record<string, string>): Element {
  const element: Element = { type: 'element', name, elements: [{ type: 'text', text }] };
  if (attributes) element.attributes = attributes;
  return element;
}

/** Mirrors JSON.stringify: `toJSON` is honoured. */
function toJsonValue(value: unknown): unknown {
  if (value !== null && typeof value === 'object' && typeof (value as { toJSON?: unknown }).toJSON === 'function') {
    return (value as { toJSON(): unknown }).toJSON();
  }
  return value;
}

/** Mirrors JSON.stringify, which leaves these keys out of objects. */
function isPresent(value: unknown): boolean {
  return value !== undefined && typeof value !== 'function' && typeof value !== 'symbol';
}
