import { createHash } from 'node:crypto';
import { createGraphQLError, type Plugin } from 'graphql-yoga';
import { useAPQ } from '@graphql-yoga/plugin-apq';
import { DASHBOARD_DOCUMENTS } from '../ops/dashboard-documents.js';
import { CharBoundedLru } from './bounded-lru.js';

/**
 * Persisted operations on /graphql (README "Persisted queries and trusted documents").
 *
 * Automatic persisted queries (Apollo's protocol, through @graphql-yoga/plugin-apq): a request with
 * `extensions.persistedQuery { version: 1, sha256Hash }` and no query runs the query registered under that hash, or
 * fails with PERSISTED_QUERY_NOT_FOUND; the same with the query text registers it (the hash must be the SHA-256 of
 * the text, else BAD_REQUEST). GET works with the hash alone once registered. The store is per process (a replica
 * that does not know a hash answers PERSISTED_QUERY_NOT_FOUND and the client sends the text once more, as the
 * protocol expects), bounded: APQ_STORE_MAX_ENTRIES documents and APQ_STORE_MAX_BYTES of text, least recently used
 * dropped first.
 *
 * Trusted documents (GRAPHQL_TRUSTED_DOCUMENTS, an allow-list): only the manifest's documents and the built-in
 * dashboard's (src/ops/dashboard-documents.ts) run. A request names one by id (`extensions.persistedQuery.sha256Hash`
 * or a `documentId` parameter) or sends its exact text; anything else fails with PERSISTED_QUERY_NOT_ALLOWED before
 * it is parsed. APQ registration is off in that mode.
 */

export const APQ_STORE_MAX_ENTRIES = 1000;
export const APQ_STORE_MAX_BYTES = 8 * 1024 * 1024;

export function sha256Hex(text: string): string {
  return createHash('sha256').update(text, 'utf8').digest('hex');
}

/** An LRU of hash → query text bounded by count and total characters (a 1 MiB document still fits). */
export class BoundedDocumentStore extends CharBoundedLru<string, string> {
  constructor(maxEntries = APQ_STORE_MAX_ENTRIES, maxChars = APQ_STORE_MAX_BYTES) {
    super(maxEntries, maxChars, (_hash, query) => query.length);
  }
}

function hashFunction(text: string): Promise<string> {
  return Promise.resolve(sha256Hex(text));
}

export function apqPlugin(store = new BoundedDocumentStore()): Plugin {
  return useAPQ({ store, hash: hashFunction }) as Plugin;
}

const notAllowed = () =>
  createGraphQLError('Only allow-listed operations may run on this server (trusted documents mode).', {
    extensions: { code: 'PERSISTED_QUERY_NOT_ALLOWED', http: { status: 400 } },
  });

/** The trusted-documents allow-list: the operator's manifest plus the built-in dashboard's documents. */
export class TrustedDocuments {
  private readonly byId = new Map<string, string>();
  private readonly textHashes = new Set<string>();

  constructor(manifest: Record<string, string>) {
    for (const [id, text] of Object.entries({ ...DASHBOARD_DOCUMENTS, ...manifest })) {
      this.byId.set(id, text);
      this.textHashes.add(sha256Hex(text));
    }
  }

  get size(): number {
    return this.byId.size;
  }

  byIdentifier(id: string): string | undefined {
    return this.byId.get(id);
  }

  allowsText(text: string): boolean {
    return this.textHashes.has(sha256Hex(text));
  }
}

/**
 * The allow-list as a Yoga plugin (onParams, before anything is parsed): a known id becomes its text, a listed text
 * passes, anything else is PERSISTED_QUERY_NOT_ALLOWED.
 */
export function trustedDocumentsPlugin(trusted: TrustedDocuments): Plugin {
  return {
    onParams({ params, setParams }) {
      const extensions = params.extensions as { persistedQuery?: { sha256Hash?: unknown } } | undefined;
      const record = params as unknown as Record<string, unknown>;
      const id = typeof record.documentId === 'string' ? record.documentId : typeof extensions?.persistedQuery?.sha256Hash === 'string' ? extensions.persistedQuery.sha256Hash : null;
      if (typeof params.query === 'string') {
        if (!trusted.allowsText(params.query)) throw notAllowed();
        if (id !== null && trusted.byIdentifier(id) !== params.query) throw notAllowed();
        return;
      }
      const text = id === null ? undefined : trusted.byIdentifier(id);
      if (text === undefined) throw notAllowed();
      const { documentId: _documentId, ...rest } = record;
      setParams({ ...(rest as typeof params), query: text });
    },
  };
}
