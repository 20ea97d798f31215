import http from 'node:http';

/** One Server-Sent Event of a GraphQL subscription (graphql-sse "distinct connections" mode). */
export interface SseEvent {
  event: string;
  /** The parsed `data:` of a `next` event; null for `complete`. */
  data: any;
}

export interface SseSubscription {
  status: number;
  headers: http.IncomingHttpHeaders;
  events: SseEvent[];
  /** Keep-alive comments (`:` blocks) received so far, the first one included. */
  pings(): number;
  /** The `next` events' payloads so far. */
  results(): any[];
  /** Resolves once `count` events arrived (rejects after `timeoutMs`). */
  waitForEvents(count: number, timeoutMs?: number): Promise<SseEvent[]>;
  /** Resolves when the server ended the response (or cut the connection): true when it ended cleanly. */
  closed: Promise<boolean>;
  /** Stops reading: the socket's buffers fill and the server sees a slow consumer. */
  pause(): void;
  resume(): void;
  close(): void;
}

/**
 * POST /graphql with `Accept: text/event-stream`, read as a stream. Resolves once the response has started: Yoga
 * writes its first ping only after the subscription was set up (so writes committed afterwards reach it).
 */
export function subscribe(baseUrl: string, query: string, variables: Record<string, unknown> = {}, headers: Record<string, string> = {}): Promise<SseSubscription> {
  const url = new URL('/graphql', baseUrl);
  return new Promise((resolve, reject) => {
    const req = http.request(
      { host: url.hostname, port: url.port, path: url.pathname, method: 'POST', agent: false, headers: { 'Content-Type': 'application/json', Accept: 'text/event-stream', ...headers } },
      (res) => {
        const events: SseEvent[] = [];
        const waiters: (() => boolean)[] = [];
        let buffer = '';
        let started = false;
        let pings = 0;
        const subscription: SseSubscription = {
          status: res.statusCode ?? 0,
          headers: res.headers,
          events,
          pings: () => pings,
          results: () => events.filter((e) => e.event === 'next').map((e) => e.data),
          waitForEvents(count, timeoutMs = 10_000) {
            return new Promise((done, fail) => {
              const timer = setTimeout(() => fail(new Error(`expected ${count} events within ${timeoutMs} ms, got ${JSON.stringify(events)}`)), timeoutMs);
              const check = () => {
                if (events.length >= count) {
                  clearTimeout(timer);
                  done(events.slice());
                  return true;
                }
                return false;
              };
              if (!check()) waiters.push(check);
            });
          },
          closed: new Promise((done) => {
            res.once('end', () => done(true));
            res.once('close', () => done(res.complete));
            res.once('error', () => done(false));
          }),
          pause: () => res.pause(),
          resume: () => res.resume(),
          close: () => req.destroy(),
        };
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => {
          buffer += chunk;
          if (!started) {
            started = true;
            resolve(subscription);
          }
          let end: number;
          while ((end = buffer.indexOf('\n\n')) >= 0) {
            const block = buffer.slice(0, end);
            buffer = buffer.slice(end + 2);
            let event = '';
            let data = '';
            for (const line of block.split('\n')) {
              if (line.startsWith('event:')) event = line.slice(6).trim();
              else if (line.startsWith('data:')) data += line.slice(5).trim();
            }
            if (!event) {
              if (block.startsWith(':')) pings += 1; // a keep-alive ping
              continue;
            }
            events.push({ event, data: data ? JSON.parse(data) : null });
            for (const waiter of waiters.splice(0)) if (!waiter()) waiters.push(waiter);
          }
        });
        res.once('error', () => undefined);
        res.once('end', () => {
          if (!started) resolve(subscription);
        });
      },
    );
    req.once('error', reject);
    req.end(JSON.stringify({ query, variables }));
  });
}
