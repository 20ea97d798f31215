export interface TxtEntry {
  id: string;
  text: string;
}

/** §5.9: `id<TAB>text<LF>` per entry, in list order; no header, no BOM. */
export function renderTxt(entries: readonly TxtEntry[]): string {
  return entries.map((e) => `${e.id}\t${e.text}\n`).join('');
}
