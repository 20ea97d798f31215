import net from 'node:net';

/**
 * A deliberately dumb HTTP/1.1 client over a raw socket, for hostile requests that fetch() and node:http refuse to
 * send or silently repair: raw bytes in the request target (invalid UTF-8, malformed percent-encoding, `..`), header
 * values with bytes above 0x7f, duplicate headers, bodies whose bytes are not UTF-8. Every request carries
 * `Connection: close`, so the response ends when the server closes the socket, and every request has a deadline:
 * a server that does not answer in time is reported as a hang, never waited for.
 */

export interface RawRequest {
  method: string;
  /** The request target exactly as sent (latin1: one byte per code unit below 256). */
  target: string | Buffer;
  /** Header lines in order; values are written as latin1 bytes, so `\x80`–`\xff` go out as single bytes. */
  headers?: [string, string][];
  body?: Buffer | string;
  /** Adds Content-Length for the body (default true when there is a body). */
  contentLength?: boolean;
  timeoutMs?: number;
}

export interface RawResponse {
  status: number;
  /** Lower-cased names; repeated headers joined with ", " (Set-Cookie too). */
  headers: Record<string, string>;
  rawHeaders: [string, string][];
  body: Buffer;
  text: string;
  ms: number;
}

export class HangError extends Error {
  override name = 'HangError';
}

function decodeChunked(data: Buffer): Buffer {
  const parts: Buffer[] = [];
  let offset = 0;
  for (;;) {
    const lineEnd = data.indexOf('\r\n', offset);
    if (lineEnd < 0) throw new Error('truncated chunked body');
    const size = parseInt(data.subarray(offset, lineEnd).toString('latin1').split(';')[0]!.trim(), 16);
    if (!Number.isFinite(size)) throw new Error('bad chunk size');
    offset = lineEnd + 2;
    if (size === 0) break;
    parts.push(data.subarray(offset, offset + size));
    offset += size + 2;
  }
  return Buffer.concat(parts);
}

export function parseResponse(data: Buffer, method: string, ms: number): RawResponse {
  const headEnd = data.indexOf('\r\n\r\n');
  if (headEnd < 0) throw new Error(`incomplete response head: ${JSON.stringify(data.subarray(0, 200).toString('latin1'))}`);
  const lines = data.subarray(0, headEnd).toString('latin1').split('\r\n');
  const statusLine = /^HTTP\/1\.[01] (\d{3})/.exec(lines[0] ?? '');
  if (!statusLine) throw new Error(`bad status line: ${JSON.stringify(lines[0])}`);
  const status = Number(statusLine[1]);
  const rawHeaders: [string, string][] = [];
  const headers: Record<string, string> = {};
  for (const line of lines.slice(1)) {
    const colon = line.indexOf(':');
    if (colon <= 0) throw new Error(`bad header line: ${JSON.stringify(line)}`);
    const name = line.slice(0, colon).trim().toLowerCase();
    const value = line.slice(colon + 1).trim();
    rawHeaders.push([name, value]);
    headers[name] = name in headers ? `${headers[name]}, ${value}` : value;
  }
  let body = data.subarray(headEnd + 4);
  if (method === 'HEAD' || status === 204 || status === 304) body = Buffer.alloc(0);
  else if (/chunked/i.test(headers['transfer-encoding'] ?? '')) body = decodeChunked(body);
  else if (headers['content-length'] !== undefined) body = body.subarray(0, Number(headers['content-length']));
  return { status, headers, rawHeaders, body, text: body.toString('utf8'), ms };
}

export function rawRequest(port: number, request: RawRequest): Promise<RawResponse> {
  const timeoutMs = request.timeoutMs ?? 10_000;
  const body = request.body === undefined ? null : Buffer.isBuffer(request.body) ? request.body : Buffer.from(request.body, 'utf8');
  const head: Buffer[] = [
    Buffer.from(`${request.method} `, 'latin1'),
    Buffer.isBuffer(request.target) ? request.target : Buffer.from(request.target, 'latin1'),
    Buffer.from(` HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nConnection: close\r\n`, 'latin1'),
  ];
  for (const [name, value] of request.headers ?? []) head.push(Buffer.from(`${name}: ${value}\r\n`, 'latin1'));
  if (body && request.contentLength !== false) head.push(Buffer.from(`Content-Length: ${body.length}\r\n`, 'latin1'));
  head.push(Buffer.from('\r\n', 'latin1'));
  const started = performance.now();
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    const socket = net.connect(port, '127.0.0.1');
    let settled = false;
    const finish = (error: Error | null) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      socket.destroy();
      if (error) return reject(error);
      try {
        resolve(parseResponse(Buffer.concat(chunks), request.method, performance.now() - started));
      } catch (parseError) {
        reject(parseError);
      }
    };
    const timer = setTimeout(
      () => finish(new HangError(`no complete answer within ${timeoutMs} ms to ${request.method} ${String(request.target).slice(0, 200)}`)),
      timeoutMs,
    );
    socket.on('connect', () => {
      socket.write(Buffer.concat(head));
      if (body) socket.write(body);
    });
    socket.on('data', (chunk) => chunks.push(chunk));
    socket.on('end', () => finish(null));
    socket.on('close', () => finish(null));
    // The server may answer (413, 400) and close before the whole body was written: that answer still counts.
    socket.on('error', (error: NodeJS.ErrnoException) => {
      if ((error.code === 'EPIPE' || error.code === 'ECONNRESET') && chunks.length > 0) return finish(null);
      finish(error);
    });
  });
}
