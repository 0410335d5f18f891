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
  /** Resets every open connection at once (both ends see the socket end without a close frame). */
  reset(): void;
  close(): Promise<void>;
}

/**
 * Starts a proxy to `target` (`127.0.0.1:port`). `delayMs` delays every chunk each way, in order,
 * like a long network path, so that a call's setup takes long enough to be cut in the middle.
 */
export async function startCutProxy(target: string, options: { delayMs?: number } = {}): Promise<CutProxy> {
  const delayMs = options.delayMs ?? 0;
  const [host, port] = target.split(':') as [string, string];
  const pairs = new Set<{ client: Socket; upstream: Socket }>();
  const server = createServer((client) => {
    const upstream = connect(Number(port), host);
    const pair = { client, upstream };
    pairs.add(pair);
    if (delayMs === 0) {
      client.pipe(upstream);
      upstream.pipe(client);
    } else {
      const relay = (from: Socket, to: Socket) =>
        from.on('data', (chunk: Buffer) => {
          setTimeout(() => pairs.has(pair) && !from.destroyed && to.writable && to.write(chunk), delayMs);
        });
      relay(client, upstream);
      relay(upstream, client);
    }
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
    reset() {
      for (const { client, upstream } of pairs) {
        client.resetAndDestroy();
        upstream.resetAndDestroy();
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
