import { Readable } from 'node:stream';
import type { Context } from 'koa';

/** How long a finished event stream may wait for a client that does not read before its connection is cut. */
export const UNREAD_CLOSE_MS = 5_000;

/** Yoga answered with Server-Sent Events (a subscription, graphql-sse "distinct connections" mode). */
export function isEventStream(response: Response): boolean {
  return response.body !== null && /^text\/event-stream\b/i.test(response.headers.get('content-type') ?? '');
}

/**
 * Streams Yoga's event stream through Koa instead of buffering it (which would never end). Backpressure reaches the
 * subscription's bounded queue: Node writes only what the socket takes, and Yoga pulls the next event only then.
 * When the stream has ended (a final event included) but the client has not taken it within UNREAD_CLOSE_MS, the
 * connection is cut, so a client that stopped reading holds no socket or buffer. A client that goes away cancels the
 * stream, which closes its subscription.
 */
export function streamEvents(ctx: Context, response: Response): void {
  response.headers.forEach((value, key) => ctx.set(key, value));
  // Proxies (nginx) must pass events on as they come.
  ctx.set('X-Accel-Buffering', 'no');
  ctx.status = response.status;
  // Read chunk by chunk (Yoga's stream is a ponyfill, not Node's own web stream); destroying the Node stream (the
  // client went away) cancels Yoga's, which closes the subscription at once.
  const reader = response.body!.getReader();
  const body = new Readable({
    read() {
      reader.read().then(
        ({ done, value }) => {
          if (done) this.push(null);
          else this.push(Buffer.from(value));
        },
        (error: unknown) => this.destroy(error instanceof Error ? error : new Error(String(error))),
      );
    },
    destroy(error, callback) {
      reader.cancel(error ?? undefined).catch(() => undefined);
      callback(error);
    },
  });
  const res = ctx.res;
  body.once('end', () => {
    const timer = setTimeout(() => {
      if (!res.writableFinished) res.destroy();
    }, UNREAD_CLOSE_MS);
    timer.unref();
    res.once('close', () => clearTimeout(timer));
  });
  ctx.body = body;
}
