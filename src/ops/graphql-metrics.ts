import { getOperationAST } from 'graphql';
import type { Plugin } from 'graphql-yoga';
import type { AppMetrics } from './metrics.js';

/**
 * Counts the operations /graphql executes, by operation name (metrics.ts bounds the names a client can invent), with
 * their execution time and whether the result carried errors. Documents refused before execution (parse or
 * validation errors, rate-limit refusals) are not operations; the HTTP metrics count those requests.
 */
export function graphqlMetricsPlugin(metrics: AppMetrics): Plugin {
  return {
    onExecute({ args }) {
      const started = performance.now();
      const name = args.operationName ?? getOperationAST(args.document, args.operationName)?.name?.value ?? null;
      return {
        onExecuteDone({ result }) {
          const ok = !('errors' in result && Array.isArray(result.errors) && result.errors.length > 0);
          metrics.observeOperation(name, 'graphql', ok, (performance.now() - started) / 1000);
        },
      };
    },
  };
}
