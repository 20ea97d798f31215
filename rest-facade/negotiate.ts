import { FORMATS, formatForSuffix, type FormatKey } from './formats/media-types.js';

/**
 * Splits a recognised format suffix (§1.4) off the last path segment.
 * Matching is case-sensitive, like the fixed path segments; any other dot
 * stays in the segment (`waha.06x36`).
 */
export function splitFormatSuffix(lastSegment: string): { segment: string; suffix: FormatKey | null } {
  const dot = lastSegment.lastIndexOf('.');
  if (dot >= 0) {
    const suffix = formatForSuffix(lastSegment.slice(dot));
    if (suffix) return { segment: lastSegment.slice(0, dot), suffix };
  }
  return { segment: lastSegment, suffix: null };
}

export interface NegotiateOptions {
  /** Suffix taken off the path by `splitFormatSuffix`. */
  suffix: FormatKey | null;
  /** Raw `Accept` header. */
  accept: string | undefined;
  /** The endpoint's formats in §5.2 order; the first is its default. */
  supported: FormatKey[];
  /** Formats `Accept` may pick (D24); defaults to `supported`. */
  acceptNegotiable?: FormatKey[];
}

/**
 * Picks the response format per §5.3 steps 1, 3 and 4 (JSONP, step 2, is the
 * caller's business). `null` means 406 Not Acceptable.
 */
export function negotiateFormat(opts: NegotiateOptions): FormatKey | null {
  const { suffix, accept, supported } = opts;
  if (suffix !== null) return supported.includes(suffix) ? suffix : null;

  const entries = parseAccept(accept ?? '');
  if (entries.length === 0) return supported[0] ?? null;

  const negotiable = opts.acceptNegotiable ?? supported;
  const candidates = supported.filter((f) => negotiable.includes(f));
  // D97: a client that once read activities keeps sending this everywhere.
  const streamJsonMeansJson = !candidates.includes('as');

  let best: { format: FormatKey; q: number; entryIndex: number } | null = null;
  for (const format of candidates) {
    const types =
      format === 'json' && streamJsonMeansJson
        ? [...FORMATS.json.acceptTypes, ...FORMATS.as.acceptTypes]
        : FORMATS[format].acceptTypes;
    const match = bestMatch(entries, types);
    if (!match || match.q <= 0) continue;
    // Candidates are iterated in `supported` order, so strict comparisons keep
    // the earlier format on a full tie.
    if (!best || match.q > best.q || (match.q === best.q && match.entryIndex < best.entryIndex)) {
      best = { format, q: match.q, entryIndex: match.entryIndex };
    }
  }
  return best ? best.format : null;
}

interface AcceptEntry {
  type: string;
  subtype: string;
  q: number;
  index: number;
}

const TOKEN = /^[!#$%&'*+.^_`|~0-9a-z-]+$/;
const QVALUE = /^(?:0(?:\.\d{0,3})?|1(?:\.0{0,3})?)$/;

/** RFC 7231 §5.3.2 media ranges; entries that do not parse are skipped. */
function parseAccept(header: string): AcceptEntry[] {
  const entries: AcceptEntry[] = [];
  const parts = header.split(',');
  for (let index = 0; index < parts.length; index++) {
    const [range = '', ...params] = parts[index].split(';');
    const slash = range.indexOf('/');
    if (slash < 0) continue;
    const type = range.slice(0, slash).trim().toLowerCase();
    const subtype = range.slice(slash + 1).trim().toLowerCase();
    if (!TOKEN.test(type) || !TOKEN.test(subtype)) continue;
    if (type === '*' && subtype !== '*') continue;
    entries.push({ type, subtype, q: parseQ(params), index });
  }
  return entries;
}

function parseQ(params: string[]): number {
  for (const param of params) {
    const eq = param.indexOf('=');
    if (eq < 0 || param.slice(0, eq).trim().toLowerCase() !== 'q') continue;
    const value = param.slice(eq + 1).trim();
    return QVALUE.test(value) ? Number(value) : 1;
  }
  return 1;
}

const EXACT = 3;
const TYPE_WILDCARD = 2;
const FULL_WILDCARD = 1;

function specificity(entry: AcceptEntry, mediaType: string): number {
  const [type, subtype] = mediaType.split('/');
  if (entry.type === '*' && entry.subtype === '*') return FULL_WILDCARD;
  if (entry.type !== type) return 0;
  if (entry.subtype === '*') return TYPE_WILDCARD;
  return entry.subtype === subtype ? EXACT : 0;
}

/**
 * The format's q and the entry that decides it: only entries of the most
 * specific kind that matches any of the format's media types count.
 */
function bestMatch(entries: AcceptEntry[], mediaTypes: readonly string[]): { q: number; entryIndex: number } | null {
  let level = 0;
  let q = 0;
  let entryIndex = -1;
  for (const entry of entries) {
    const s = Math.max(...mediaTypes.map((t) => specificity(entry, t)));
    if (s === 0 || s < level) continue;
    if (s > level || entry.q > q) {
      level = s;
      q = entry.q;
      entryIndex = entry.index;
    }
  }
  return level === 0 ? null : { q, entryIndex };
}
