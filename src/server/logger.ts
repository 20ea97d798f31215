import { createRequire } from 'node:module';
import pino, { type DestinationStream, type Logger, type LoggerOptions } from 'pino';
import type { LogFormat, LogLevel } from '../config/config.js';

/**
 * Paths pino blanks out wherever they appear in a logged object: credentials must never reach the logs, even
 * when some code logs a request or an error carrying them. The request log line (src/ops/request-log.ts) does
 * not log headers, query strings or bodies at all; this list is the second line of defence.
 */
export const REDACTED_PATHS = [
  'req.headers.authorization',
  'req.headers.cookie',
  'req.headers["x-csrf-token"]',
  'res.headers["set-cookie"]',
  'headers.authorization',
  'headers.cookie',
  '*.password',
  '*.client_secret',
  '*.access_token',
  '*.refresh_token',
  '*.token',
  'password',
  'client_secret',
  'access_token',
  'token',
];

export function loggerOptions(level: LogLevel): LoggerOptions {
  return { level, base: undefined, redact: { paths: REDACTED_PATHS, censor: '[redacted]' } };
}

/** pino-pretty is a development convenience: used only when it can be resolved from here. */
export function prettyAvailable(): boolean {
  try {
    createRequire(import.meta.url).resolve('pino-pretty');
    return true;
  } catch {
    return false;
  }
}

/**
 * The service logger: JSON lines on stdout (written asynchronously), or with LOG_FORMAT=pretty (the default under `npm run dev`)
 * pino-pretty through pino's transport when pino-pretty is installed. `destination` (tests) takes the JSON
 * lines instead of stdout.
 */
export function createLogger(level: LogLevel, format: LogFormat = 'json', destination?: DestinationStream): Logger {
  const options = loggerOptions(level);
  if (destination) return pino(options, destination);
  if (format === 'pretty' && prettyAvailable()) {
    return pino({ ...options, transport: { target: 'pino-pretty', options: { colorize: true, translateTime: 'SYS:HH:MM:ss.l', ignore: 'pid,hostname' } } });
  }
  // Asynchronous writes: a full stdout pipe (a slow log collector) never blocks the event loop, and a request's log
  // line costs no synchronous write. Lines still go out in order as soon as the loop is free; pino flushes what is
  // left synchronously when the process exits (process.exit included).
  return pino(options, pino.destination({ dest: 1, sync: false }));
}
