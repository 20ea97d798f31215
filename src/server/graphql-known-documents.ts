import { type DocumentNode } from 'graphql';
import type { CompiledQuery } from 'graphql-jit';
import type { Plugin } from 'graphql-yoga';
import { CharBoundedLru } from './bounded-lru.js';

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
  private readonly entries: CharBoundedLru<string, KnownDocument>;

  constructor(maxEntries = 500, maxChars = 4 * 1024 * 1024) {
    this.entries = new CharBoundedLru(maxEntries, maxChars, (text) => text.length);
  }

  get size(): number {
    return this.entries.size;
  }

  get(text: string): KnownDocument | undefined {
    return this.entries.get(text);
  }

  /** A text parsed again into another DocumentNode (Yoga's parse cache dropped it) starts over, uncompiled. */
  record(text: string, document: DocumentNode): void {
    if (this.entries.peek(text)?.document === document) return;
    this.entries.set(text, { document, compiled: new Map() });
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
