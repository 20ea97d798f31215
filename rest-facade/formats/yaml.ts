/**
 * Hand-written §5.8 (D28) emitter: the `yaml` package cannot put a root
 * scalar/`[]` on the `---` line and quotes YAML 1.1 words such as `n` as keys,
 * so it cannot produce this exact layout.
 */
export function renderYaml(value: unknown): string {
  const v = toJsonValue(value);
  if (isInline(v)) return `--- ${inline(v)}\n`;
  const lines: string[] = [];
  block(v as object, 0, lines);
  return `---\n${lines.join('\n')}\n`;
}

const BARE_KEY = /^[A-Za-z_][A-Za-z0-9_]*$/;
// A YAML 1.1 reader would turn these bare keys into booleans or null. No key of
// the API is one of them; quoting them keeps other callers' data intact.
const YAML11_RESERVED = /^(?:y|n|yes|no|on|off|true|false|null)$/i;

function key(k: string): string {
  return BARE_KEY.test(k) && !YAML11_RESERVED.test(k) ? k : JSON.stringify(k);
}

/** Scalars and empty collections: everything that is written on one line. */
function isInline(v: unknown): boolean {
  if (Array.isArray(v)) return v.length === 0;
  if (v !== null && typeof v === 'object') return entries(v).length === 0;
  return true;
}

function inline(v: unknown): string {
  if (typeof v === 'string') return JSON.stringify(v);
  if (typeof v === 'number') return Number.isFinite(v) ? String(v) : 'null';
  if (typeof v === 'boolean') return String(v);
  if (Array.isArray(v)) return '[]';
  if (v !== null && typeof v === 'object') return '{}';
  return 'null';
}

/**
 * Appends the lines of a non-empty array or object whose entries start at column `indent` to `lines`. Every level
 * writes into the one array: returning each level's lines and spreading them into the parent's (`push(...nested)`)
 * copied every line once per level above it, and a spread of a few hundred thousand lines overflows the stack
 * (issue 14).
 */
function block(v: object, indent: number, lines: string[]): void {
  const pad = ' '.repeat(indent);
  if (Array.isArray(v)) {
    for (const raw of v) {
      const item = toJsonValue(raw);
      if (isInline(item)) {
        lines.push(`${pad}- ${inline(item)}`);
      } else {
        // The nested block is laid out two columns further in; its first line
        // then trades those two spaces for the "- " marker.
        const first = lines.length;
        block(item as object, indent + 2, lines);
        lines[first] = `${pad}- ${lines[first]!.slice(indent + 2)}`;
      }
    }
  } else {
    for (const [k, raw] of entries(v)) {
      const item = toJsonValue(raw);
      if (isInline(item)) {
        lines.push(`${pad}${key(k)}: ${inline(item)}`);
      } else {
        lines.push(`${pad}${key(k)}:`);
        block(item as object, indent + 2, lines);
      }
    }
  }
}

/** Mirrors JSON.stringify: `toJSON` is honoured, and undefined/function/symbol members are left out. */
function entries(v: object): [string, unknown][] {
  return Object.entries(v).filter(([, x]) => x !== undefined && typeof x !== 'function' && typeof x !== 'symbol');
}

function toJsonValue(value: unknown): unknown {
  if (value !== null && typeof value === 'object' && typeof (value as { toJSON?: unknown }).toJSON === 'function') {
    return (value as { toJSON(): unknown }).toJSON();
  }
  return value;
}
