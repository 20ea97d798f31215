import net from 'node:net';

/** True when nothing listens on `host:port` (we can bind it ourselves right now). */
export function isPortFree(port: number, host = '127.0.0.1'): Promise<boolean> {
  return new Promise((resolve) => {
    const server = net.createServer();
    server.unref();
    server.once('error', () => resolve(false));
    server.listen({ port, host, exclusive: true }, () => {
      server.close(() => resolve(true));
    });
  });
}

/**
 * A port the operating system reports free on `host`, never one of `exclude`
 * (by default PostgreSQL's standard 5432, which a system server may want).
 * There is a small window between this check and the real bind: callers
 * should retry with a new port when the bind fails with "address in use".
 */
export async function findFreePort(host = '127.0.0.1', exclude: readonly number[] = [5432]): Promise<number> {
  for (let attempt = 0; attempt < 20; attempt++) {
    const port = await new Promise<number>((resolve, reject) => {
      const server = net.createServer();
      server.unref();
      server.once('error', reject);
      server.listen({ port: 0, host, exclusive: true }, () => {
        const address = server.address();
        const chosen = typeof address === 'object' && address !== null ? address.port : 0;
        server.close(() => resolve(chosen));
      });
    });
    if (port > 0 && !exclude.includes(port)) return port;
  }
  throw new Error(`Could not find a free TCP port on ${host}; free some ports or check the network configuration.`);
}
