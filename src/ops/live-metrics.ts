import { Counter, Gauge, type Registry } from 'prom-client';
import type { LiveHub, LiveMetrics } from '../services/live/hub.js';

/** The subscription fields, so that the gauge shows 0 for a field without streams. */
const FIELDS = ['flattrCreated', 'thingChanged', 'statsTotals'];

/**
 * Metrics of GraphQL subscriptions (issue 20), in the app's registry: open streams by field (read from the hub when
 * scraped), events delivered and dropped, streams ended early by reason, and subscriptions refused by cap.
 */
export function createLiveMetrics(registry: Registry, hub: () => LiveHub | null): LiveMetrics {
  new Gauge({
    name: 'flattr_live_streams_open',
    help: 'GraphQL subscriptions open in this process, by field.',
    labelNames: ['field'] as const,
    registers: [registry],
    collect() {
      const counts = hub()?.openByKind() ?? new Map<string, number>();
      this.reset();
      for (const field of new Set([...FIELDS, ...counts.keys()])) this.set({ field }, counts.get(field) ?? 0);
    },
  });
  const delivered = new Counter({
    name: 'flattr_live_events_delivered_total',
    help: 'Subscription events handed to a stream, by field.',
    labelNames: ['field'] as const,
    registers: [registry],
  });
  const dropped = new Counter({
    name: 'flattr_live_events_dropped_total',
    help: 'Subscription events thrown away because their subscriber did not read them (the stream ended with SLOW_CONSUMER), by field.',
    labelNames: ['field'] as const,
    registers: [registry],
  });
  const ended = new Counter({
    name: 'flattr_live_streams_ended_total',
    help: 'Subscriptions ended by the server with a final event, by reason (SLOW_CONSUMER, TOKEN_REVOKED, SERVER_SHUTTING_DOWN, RATE_LIMITED).',
    labelNames: ['reason'] as const,
    registers: [registry],
  });
  const refused = new Counter({
    name: 'flattr_live_subscriptions_refused_total',
    help: 'Subscriptions refused with SUBSCRIPTION_LIMIT, by cap (caller or process).',
    labelNames: ['limit'] as const,
    registers: [registry],
  });
  return {
    delivered: (field) => delivered.inc({ field }),
    dropped: (field, count) => dropped.inc({ field }, count),
    ended: (reason) => ended.inc({ reason }),
    refused: (limit) => refused.inc({ limit }),
  };
}
