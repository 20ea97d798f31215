import { GraphQLError } from 'graphql';
import type { Plugin } from 'graphql-yoga';
import type { MikroORM } from '@mikro-orm/postgresql';
import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import type { AppConfig } from '../config/config.js';
import type { GraphQLContext } from '../../schema/context.js';
import { measureOperation, operationLimitErrors, type DocumentLimits } from '../../schema/limits.js';
import { LiveHub, type LiveSession } from '../services/live/hub.js';
import { LiveListener } from '../services/live/listener.js';
import { createRedisCallerCount } from './live-callers.js';
import { createLiveMetrics } from '../ops/live-metrics.js';
import { operationWeight } from '../rate-limit/document-cost.js';
import { RATE_LIMITED_MESSAGE, rateLimitTracker } from '../rate-limit/graphql.js';

export const SSE_ONLY_MESSAGE = 'Subscriptions are served as Server-Sent Events: send Accept: text/event-stream.';

/** How often the tokens of open streams are checked again (a revocation also ends them at once, by notification). */
export const REVALIDATE_MS = 2_000;

export interface Live {
  hub: LiveHub;
  /** The Yoga plugin: the `live` part of each /graphql context, and the limits of subscription operations. */
  plugin: Plugin;
  /** Graceful shutdown, step 1: every stream gets a final SERVER_SHUTTING_DOWN event; new subscriptions are refused. */
  shutdown(): void;
  /** Stops listening (after shutdown, or when an app is closed). */
  close(): Promise<void>;
}

/**
 * GraphQL subscriptions of one app (issue 20): a hub of open streams fed by PostgreSQL notifications (one LISTEN
 * connection per process, opened with the first subscription), and the Yoga plugin that hands it to subscriptions.
 */
export function createLive(deps: { orm: MikroORM; config: AppConfig; logger: Logger; registry: Registry; limits: DocumentLimits }): Live {
  const { orm, config, logger } = deps;
  let hub: LiveHub | null = null;
  const metrics = createLiveMetrics(deps.registry, () => hub);
  const listener = new LiveListener({
    databaseUrl: orm.config.get('clientUrl')!,
    onNotification: (notification) => hub!.notify(notification),
    onConnected: () => hub?.reconnected(),
    onError: (error) => logger.warn({ err: error }, 'live events: LISTEN connection failed; reconnecting'),
  });
  const callers = createRedisCallerCount(config, logger);
  hub = new LiveHub({
    em: orm.em.fork(),
    callers,
    limits: {
      perCaller: config.liveMaxPerCaller,
      perProcess: config.liveMaxStreams,
      buffer: config.liveBufferEvents,
      chargeSeconds: config.liveChargeSeconds,
      revalidateMs: REVALIDATE_MS,
    },
    metrics,
    listen: () => listener.start(),
    onError: (error) => logger.error({ err: error }, 'live events: delivering an event failed'),
  });
  const liveHub = hub;

  const plugin: Plugin = {
    onContextBuilding({ context, extendContext }) {
      const ctx = context as unknown as GraphQLContext;
      const tracker = rateLimitTracker(context);
      if (!tracker) return; // not /graphql (subscriptions are served nowhere else)
      const session: LiveSession = {
        hub: liveHub,
        owner: { key: tracker.admission.bucket, tokenId: ctx.viewer?.tokenId ?? null, userId: ctx.viewer?.user.id ?? null },
        // One more point for the stream's open time. Charged on a copy that holds no points of its own: a refusal
        // must not give back the request that opened the stream (what charge() does for a query's weight).
        charge: () => {
          const counted = tracker.admission.counted;
          if (!counted) return Promise.resolve(true);
          return tracker.gate.charge({ ...tracker.admission, counted: { ...counted, points: 0 } }, 1);
        },
      };
      extendContext({ live: session } as never);
    },
    // Subscriptions are not executed (onExecute), so the cost limit and the rate-limit weight that queries get
    // there are applied here, when the subscription starts.
    async onSubscribe({ args, setResultAndStopExecution }) {
      // Only an event stream can carry a subscription: anything else would open a stream nobody reads.
      const accept = (args.contextValue as { request?: Request }).request?.headers.get('accept') ?? '';
      if (!/\btext\/event-stream\b/i.test(accept)) {
        setResultAndStopExecution({ errors: [new GraphQLError(SSE_ONLY_MESSAGE, { extensions: { code: 'BAD_REQUEST' } })] });
        return;
      }
      const measured = measureOperation(args.schema, args.document, args.operationName, args.variableValues);
      if (measured) {
        const errors = operationLimitErrors(measured, deps.limits);
        if (errors.length > 0) {
          setResultAndStopExecution({ errors });
          return;
        }
      }
      const tracker = rateLimitTracker(args.contextValue as object);
      const weight = operationWeight(measured);
      if (tracker && weight > 1 && !(await tracker.gate.charge(tracker.admission, weight - 1))) {
        tracker.refused = true;
        setResultAndStopExecution({ errors: [new GraphQLError(RATE_LIMITED_MESSAGE, { extensions: { code: 'RATE_LIMITED' } })] });
      }
    },
  };

  return {
    hub: liveHub,
    plugin,
    shutdown: () => liveHub.shutdown(),
    close: async () => {
      liveHub.shutdown();
      await listener.stop();
      await callers?.close();
    },
  };
}
