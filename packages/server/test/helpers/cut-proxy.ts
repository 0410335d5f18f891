import { createServer, connect, type Socket } from 'node:net';
import { listenOnLoopback } from './tcp-balancer.js';

/** A TCP proxy on loopback whose connections a test can cut the way a network does. */
export interface CutProxy {
  /** `host:port` of the proxy, to put in place of the target's. */
  readonly address: string;
  /**
   * Cuts every open connection without a word: nothing more passes in `direction` (both by
   * default), and neither end is told, as when a phone leaves Wi-Fi. What the server writes is
   * read and thrown away, so it cannot notice.
   */
  cut(direction?: 'both' | 'down'): void;
  close(): Promise<void>;
}

/** Starts a proxy to `target` (`127.0.0.1:port`). */
export async function startCutProxy(target: string): Promise<CutProxy> {
  const [host, port] = target.split(':') as [string, string];
  const pairs = new Set<{ client: Socket; upstream: Socket }>();
  const server = createServer((client) => {
    const upstream = connect(Number(port), host);
    const pair = { client, upstream };
    pairs.add(pair);
    client.pipe(upstream);
    upstream.pipe(client);
    const end = () => {
      pairs.delete(pair);
      client.destroy();
      upstream.destroy();
    };
    client.on('error', end);
    upstream.on('error', end);
    client.on('close', end);
    upstream.on('close', end);
  });
  const listening = await listenOnLoopback(server);
  return {
    address: `127.0.0.1:${listening}`,
    cut(direction = 'both') {
      for (const { client, upstream } of pairs) {
        upstream.unpipe(client);
        upstream.on('data', () => undefined);
        if (direction === 'both') {
          client.unpipe(upstream);
          client.on('data', () => undefined);
        }
      }
    },
    async close() {
      for (const { client, upstream } of pairs) {
        client.destroy();
        upstream.destroy();
      }
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
