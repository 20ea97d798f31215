import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

/**
 * Issue 17, item 6: every reference the code cites is in the repository. The code cites the REST v2 contract by
 * section (`§6.5`), endpoint (`E8`) and decision (`D52`); docs/ must have an anchor for each one cited.
 *
 * Anchors (docs/README.md, "Anchors"): `<a id="s6-5"></a>` for §6.5, `<a id="e8"></a>` for E8,
 * `<a id="d52"></a>` for D52. Pure file reading, no server and no database.
 */

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const DOCS = path.join(ROOT, 'docs');
const SCANNED_DIRS = ['src', 'schema', 'rest-facade', 'test', 'bench', 'scripts'];
const SCANNED_EXTENSIONS = new Set(['.ts', '.tsx', '.js', '.mjs', '.cjs', '.md', '.graphql', '.sql']);
const THIS_FILE = path.relative(ROOT, fileURLToPath(import.meta.url));

/**
 * Matches that look like citations but are not. Keyed `<file>:<citation>`; each entry says why. Kept short on
 * purpose: a new entry needs a reason a reviewer accepts.
 */
const NOT_CITATIONS: Record<string, string> = {
  'test/openapi.test.ts:E99': 'made-up route names, to test that OpenAPI refuses declarations it cannot describe',
};

/** The last endpoint number of the §9.0 table; docs/ must define E1 up to it. */
const LAST_ENDPOINT = 25;

type Citation = { kind: '§' | 'D' | 'E'; number: string; file: string; line: number };

function walk(dir: string, out: string[]): void {
  for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
    if (entry.name === 'node_modules' || entry.name.startsWith('.')) continue;
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) walk(full, out);
    else if (SCANNED_EXTENSIONS.has(path.extname(entry.name))) out.push(full);
  }
}

/** A `§` reference right after `RFC 6749 ` (or in a list after it: `RFC 7636 §4.1/§4.2`) is the RFC's section. */
const RFC_BEFORE = /RFC\s*\d+\s*(?:§[\d.]*\d\s*[/,]\s*(?:and\s+)?)*$/;

/** The citations in one file's text, with their line numbers. */
function citationsIn(file: string, text: string): Citation[] {
  const found: Citation[] = [];
  const lines = text.split('\n');
  lines.forEach((lineText, index) => {
    const line = index + 1;
    for (const match of lineText.matchAll(/§(\d+(?:\.\d+)*)/g)) {
      if (RFC_BEFORE.test(lineText.slice(0, match.index))) continue;
      found.push({ kind: '§', number: match[1]!, file, line });
    }
    for (const match of lineText.matchAll(/\b([DE])(\d{1,3})\b/g)) {
      const kind = match[1] as 'D' | 'E';
      if (kind === 'E' && match[2]!.length > 2) continue;
      found.push({ kind, number: String(Number(match[2])), file, line });
    }
  });
  return found.filter((c) => !(`${c.file}:${c.kind}${c.number}` in NOT_CITATIONS));
}

function anchorFor(c: Pick<Citation, 'kind' | 'number'>): string {
  if (c.kind === '§') return `s${c.number.replace(/\./g, '-')}`;
  return `${c.kind.toLowerCase()}${c.number}`;
}

function label(c: Pick<Citation, 'kind' | 'number'>): string {
  return `${c.kind}${c.number}`;
}

function docsFiles(): string[] {
  const files: string[] = [];
  (function collect(dir: string) {
    for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
      const full = path.join(dir, entry.name);
      if (entry.isDirectory()) collect(full);
      else if (entry.name.endsWith('.md')) files.push(full);
    }
  })(DOCS);
  return files.sort();
}

/** Explicit anchors per docs file: `<a id="..."></a>` (also `name=`). */
function anchorsOf(text: string): string[] {
  return [...text.matchAll(/<a\s+(?:id|name)="([^"]+)"\s*>\s*<\/a>/g)].map((m) => m[1]!);
}

/** GitHub's heading slugs, for links into README.md. */
function githubSlugs(markdown: string): Set<string> {
  const slugs = new Set<string>();
  const seen = new Map<string, number>();
  let fenced = false;
  for (const lineText of markdown.split('\n')) {
    if (/^\s*(```|~~~)/.test(lineText)) fenced = !fenced;
    if (fenced) continue;
    const heading = /^#{1,6}\s+(.*?)\s*#*\s*$/.exec(lineText);
    if (!heading) continue;
    const base = heading[1]!
      .toLowerCase()
      .replace(/<[^>]*>/g, '')
      .replace(/[^\p{L}\p{N}\p{M}\p{Pc} -]/gu, '')
      .replace(/ /g, '-');
    const n = seen.get(base) ?? 0;
    seen.set(base, n + 1);
    slugs.add(n === 0 ? base : `${base}-${n}`);
  }
  return slugs;
}

const sourceFiles: string[] = [];
for (const dir of SCANNED_DIRS) {
  const full = path.join(ROOT, dir);
  if (fs.existsSync(full)) walk(full, sourceFiles);
}
sourceFiles.sort();

const citations: Citation[] = sourceFiles
  .map((file) => path.relative(ROOT, file))
  .filter((file) => file !== THIS_FILE)
  .flatMap((file) => citationsIn(file, fs.readFileSync(path.join(ROOT, file), 'utf8')));

const docs = docsFiles().map((file) => ({ file, text: fs.readFileSync(file, 'utf8') }));
const anchorFiles = new Map<string, string[]>();
for (const { file, text } of docs) {
  for (const anchor of anchorsOf(text)) {
    anchorFiles.set(anchor, [...(anchorFiles.get(anchor) ?? []), path.relative(ROOT, file)]);
  }
}

describe('docs/ holds every reference the code cites (issue 17)', () => {
  it('finds citations at all (the scan works)', () => {
    expect(sourceFiles.length).toBeGreaterThan(50);
    expect(citations.length).toBeGreaterThan(500);
    expect(new Set(citations.map((c) => c.kind))).toEqual(new Set(['§', 'D', 'E']));
  });

  it('tells RFC sections and identifiers from citations', () => {
    const sample = [
      '// spec §6.5 step 11, D52, E8',
      '// RFC 6749 §4.1.2.1 and RFC 7636 §4.1/§4.2, RFC 9110 §13.1.2',
      'const x = 0xD3 + 1E5; const idE8 = "E2E"; D100 ED1',
    ].join('\n');
    expect(citationsIn('sample.ts', sample).map(label)).toEqual(['§6.5', 'D52', 'E8', 'D100']);
  });

  it('has an anchor in docs/ for every cited §, E and D', () => {
    const missing = new Map<string, string[]>();
    for (const c of citations) {
      if (anchorFiles.has(anchorFor(c))) continue;
      const where = `${c.file}:${c.line}`;
      missing.set(label(c), [...(missing.get(label(c)) ?? []), where]);
    }
    const report = [...missing].map(([cited, where]) => `${cited} (#${anchorFor(parse(cited))}) cited at ${where.slice(0, 3).join(', ')}`);
    expect(report).toEqual([]);
  });

  it('defines each anchor once', () => {
    const duplicated = [...anchorFiles].filter(([, files]) => files.length > 1).map(([anchor, files]) => `${anchor}: ${files.join(', ')}`);
    expect(duplicated).toEqual([]);
  });

  it('numbers the decisions D1..Dn and the endpoints E1..E25 without gaps', () => {
    const decisions = [...anchorFiles.keys()].filter((a) => /^d\d+$/.test(a)).map((a) => Number(a.slice(1)));
    const last = Math.max(...decisions);
    expect(decisions.length).toBe(last);
    for (let n = 1; n <= last; n++) expect(anchorFiles.has(`d${n}`), `D${n}`).toBe(true);
    for (let n = 1; n <= LAST_ENDPOINT; n++) expect(anchorFiles.has(`e${n}`), `E${n}`).toBe(true);
    for (let n = 0; n <= 18; n++) expect(anchorFiles.has(`s${n}`), `§${n}`).toBe(true);
  });

  it('has no broken links between docs/ files and into README.md', () => {
    const readme = fs.readFileSync(path.join(ROOT, 'README.md'), 'utf8');
    const readmeSlugs = githubSlugs(readme);
    const broken: string[] = [];
    const all = [...docs, { file: path.join(ROOT, 'README.md'), text: readme }];
    for (const { file, text } of all) {
      const body = text.replace(/```[\s\S]*?```/g, '').replace(/`[^`\n]*`/g, '');
      for (const match of body.matchAll(/\]\(([^)\s]+)\)/g)) {
        const href = match[1]!;
        if (/^[a-z]+:/i.test(href)) continue;
        const [target, anchor] = href.split('#') as [string, string | undefined];
        const targetFile = target === '' ? file : path.resolve(path.dirname(file), target);
        const rel = path.relative(ROOT, targetFile);
        if (!fs.existsSync(targetFile)) {
          broken.push(`${path.relative(ROOT, file)}: ${href} (no file)`);
          continue;
        }
        if (anchor === undefined || fs.statSync(targetFile).isDirectory()) continue;
        const ok = rel === 'README.md'
          ? readmeSlugs.has(anchor) || anchorsOf(readme).includes(anchor)
          : rel.startsWith(`docs${path.sep}`)
            ? anchorsOf(fs.readFileSync(targetFile, 'utf8')).includes(anchor) || githubSlugs(fs.readFileSync(targetFile, 'utf8')).has(anchor)
            : true;
        if (!ok) broken.push(`${path.relative(ROOT, file)}: ${href} (no anchor)`);
      }
    }
    expect(broken).toEqual([]);
  });
});

function parse(cited: string): Pick<Citation, 'kind' | 'number'> {
  return { kind: cited[0] as Citation['kind'], number: cited.slice(1) };
}
