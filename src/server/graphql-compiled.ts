import { type DocumentNode, type ExecutionArgs, type ExecutionResult, type OperationDefinitionNode } from 'graphql';
import { compileQuery, isCompiledQuery, type CompiledQuery } from 'graphql-jit';
import type { Plugin } from 'graphql-yoga';

/**
 * Executes queries that clients send again and again through graphql-jit, as the REST facade runs its operations
 * (rest-facade/operations.ts): a document's operation is compiled once into a function that resolves exactly its
 * selection, instead of graphql-js walking the document on every request.
 *
 * - Only queries: a compiled run whose result has errors is run again by graphql-js, so that every error answer
 *   (messages, `locations`, `path`, partial data, HTTP status) is the one Yoga's own executor gives; a mutation
 *   must never run twice.
 * - Only documents seen before (`compileAfter` executions of the same parsed document): Yoga's parse cache hands the
 *   same DocumentNode back for the same text, and a document sent once costs no compilation. Compiled functions are
 *   kept per DocumentNode (weakly, so they leave with Yoga's cache entries), at most `maxCompiled` operations.
 * - A document graphql-jit cannot compile keeps running through graphql-js.
 */
export interface CompiledExecutionOptions {
  /** Executions of one document before it is compiled (2: the second request with the same text). */
  compileAfter?: number;
  /** Compiled operations kept at most (each costs some memory); later documents run through graphql-js. */
  maxCompiled?: number;
  /** Told of each compiled run, and of each run again after errors (/metrics). */
  onExecution?: (outcome: 'compiled' | 'rerun_after_errors') => void;
}

interface DocumentEntry {
  seen: number;
  /** By operation name ('' for the anonymous one); null: does not compile. */
  compiled: Map<string, CompiledQuery | null>;
}

/**
 * Set on a request's GraphQL context by the /graphql fast path (src/server/graphql-fast-path.ts) when its compiled run
 * of the query reported errors: Yoga's standard executor answers the request, without a second compiled run.
 */
export const COMPILED_RUN_REPORTED_ERRORS = Symbol('flattr.compiledRunReportedErrors');

export function compiledExecutionPlugin(options: CompiledExecutionOptions = {}): Plugin {
  const compileAfter = options.compileAfter ?? 2;
  const maxCompiled = options.maxCompiled ?? 1000;
  const entries = new WeakMap<DocumentNode, DocumentEntry>();
  let compiledCount = 0;
  // A compiled function leaves with its document (Yoga's parse cache drops documents it no longer holds): the count
  // goes down with it, so the cap bounds the functions alive, not the ones ever compiled.
  const released = new FinalizationRegistry<null>(() => {
    compiledCount -= 1;
  });

  const compiledFor = (args: ExecutionArgs): CompiledQuery | null => {
    let entry = entries.get(args.document);
    if (!entry) entries.set(args.document, (entry = { seen: 0, compiled: new Map() }));
    const name = args.operationName ?? '';
    if (entry.compiled.has(name)) return entry.compiled.get(name)!;
    if (++entry.seen < compileAfter || compiledCount >= maxCompiled) return null;
    const operation = selectedOperation(args.document, args.operationName);
    let compiled: CompiledQuery | null = null;
    if (operation?.operation === 'query') {
      const result = compileQuery(args.schema, args.document, args.operationName ?? undefined);
      compiled = isCompiledQuery(result) ? result : null;
    }
    entry.compiled.set(name, compiled);
    if (compiled) {
      compiledCount += 1;
      released.register(args.document, null);
    }
    return compiled;
  };

  return {
    onExecute({ args, executeFn, setExecuteFn }) {
      if ((args.contextValue as unknown as Record<symbol, unknown>)[COMPILED_RUN_REPORTED_ERRORS]) return;
      const compiled = compiledFor(args);
      if (!compiled) return;
      setExecuteFn(async (executionArgs) => {
        const result = (await compiled.query(executionArgs.rootValue, executionArgs.contextValue, executionArgs.variableValues ?? {})) as ExecutionResult;
        // Yoga's own executor answers the errors (it also marks variable errors as HTTP 400).
        const rerun = Boolean(result.errors?.length);
        options.onExecution?.(rerun ? 'rerun_after_errors' : 'compiled');
        return rerun ? executeFn(executionArgs) : result;
      });
    },
  };
}

function selectedOperation(document: DocumentNode, operationName: string | null | undefined): OperationDefinitionNode | null {
  let found: OperationDefinitionNode | null = null;
  for (const definition of document.definitions) {
    if (definition.kind !== 'OperationDefinition') continue;
    if (operationName ? definition.name?.value === operationName : found === null) found = definition;
    else if (!operationName) return null; // several operations and no name: graphql-js answers the error
  }
  return found;
}
