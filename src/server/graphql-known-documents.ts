import { type DocumentNode } from 'graphql';
import type { CompiledQuery } from 'graphql-jit';
import type { Plugin } from 'graphql-yoga';

/**
 * The query documents Yoga has parsed and validated successfully, by their exact text (the /graphql fast path,
 * src/server/graphql-fast-path.ts, answers only these). Recorded when Yoga is about to execute a document: it got
 * past the persisted-operations gate (APQ or the trusted-documents allow-list, onParams), the source guard, the parser
 * and every validation rule (depth, fragments, introspection), all of which depend on the text alone. Bounded: at most
 * `maxEntries` documents and `maxChars` characters of text, the least recently used dropped first.
 */
export interface KnownDocument {
  document: DocumentNode;
  /** Compiled operations by operation name ('' for none); null: graphql-jit cannot compile it. */
  compiled: Map<string, CompiledQuery | null>;
}

export class KnownDocuments {
  private readonly entries = new Map<string, KnownDocument>();
  private chars = 0;

  constructor(
    readonly maxEntries = 500,
    readonly maxChars = 4 * 1024 * 1024,
  ) {}

  get size(): number {
    return this.entries.size;
  }

  get(text: string): KnownDocument | undefined {
    const entry = this.entries.get(text);
    if (entry !== undefined) {
      // Most recently used last.
      this.entries.delete(text);
      this.entries.set(text, entry);
    }
    return entry;
  }

  record(text: string, document: DocumentNode): void {
    if (text.length > this.maxChars || this.entries.get(text)?.document === document) return;
    const old = this.entries.get(text);
    if (old !== undefined) {
      this.entries.delete(text);
      this.chars -= text.length;
    }
    this.entries.set(text, { document, compiled: new Map() });
    this.chars += text.length;
    for (const key of this.entries.keys()) {
      if (this.entries.size <= this.maxEntries && this.chars <= this.maxChars) break;
      this.entries.delete(key);
      this.chars -= key.length;
    }
  }
}

/** The Yoga plugin that records each document Yoga executes, under the query text it was parsed from. */
export function knownDocumentsPlugin(known: KnownDocuments): Plugin {
  return {
    onExecute({ args }) {
      // Yoga's context carries the request's params, after the persisted-operations plugins resolved them.
      const text = (args.contextValue as { params?: { query?: unknown } }).params?.query;
      if (typeof text === 'string') known.record(text, args.document);
    },
  };
}
