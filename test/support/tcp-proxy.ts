import net from 'node:net';

/**
 * A TCP proxy in front of a PostgreSQL server that can make it hang, as a host that freezes or a network that drops
 * its packets would: nothing is refused or closed, nothing is answered. For the read-replica tests (issue 19).
 *
 * - `forward()`: connections go through (the default); connections frozen by `freeze()` carry on where they were;
 * - `freeze()`: open connections stop carrying data either way (it waits in the sockets' buffers), and new ones are
 *   accepted and never answered;
 * - `cutAndHang()`: open connections are closed, and new ones are accepted and never answered.
 */
export interface TcpProxy {
  port: number;
  url(database: string): string;
  forward(): void;
  freeze(): void;
  cutAndHang(): void;
  /** Connections accepted so far while hanging (never answered). */
  readonly hungConnections: number;
  close(): Promise<void>;
}

interface Link {
  client: net.Socket;
  upstream: net.Socket;
  frozen: boolean;
}

export async function startTcpProxy(target: { host: string; port: number }): Promise<TcpProxy> {
  let mode: 'forward' | 'hang' = 'forward';
  let hungConnections = 0;
  const links = new Set<Link>();
  const hung = new Set<net.Socket>();

  const connect = (link: Link) => {
    link.frozen = false;
    link.client.pipe(link.upstream);
    link.upstream.pipe(link.client);
  };
  const disconnect = (link: Link) => {
    link.frozen = true;
    link.client.unpipe(link.upstream);
    link.upstream.unpipe(link.client);
    link.client.pause();
    link.upstream.pause();
  };
  const destroy = (link: Link) => {
    links.delete(link);
    link.client.destroy();
    link.upstream.destroy();
  };

  const server = net.createServer((client) => {
    client.on('error', () => undefined);
    if (mode === 'hang') {
      hungConnections++;
      hung.add(client);
      client.on('close', () => hung.delete(client));
      return;
    }
    const upstream = net.connect(target.port, target.host);
    const link: Link = { client, upstream, frozen: false };
    links.add(link);
    upstream.on('error', () => destroy(link));
    client.on('close', () => destroy(link));
    upstream.on('close', () => destroy(link));
    connect(link);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as net.AddressInfo).port;

  return {
    port,
    url: (database) => `postgres://postgres@127.0.0.1:${port}/${database}`,
    forward() {
      mode = 'forward';
      for (const socket of hung) socket.destroy();
      for (const link of links) if (link.frozen) connect(link);
    },
    freeze() {
      mode = 'hang';
      for (const link of links) if (!link.frozen) disconnect(link);
    },
    cutAndHang() {
      mode = 'hang';
      for (const link of [...links]) destroy(link);
    },
    get hungConnections() {
      return hungConnections;
    },
    async close() {
      for (const link of [...links]) destroy(link);
      for (const socket of hung) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
