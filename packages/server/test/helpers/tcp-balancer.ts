import { connect, createServer, type Server, type Socket } from 'node:net';

/** A TCP load balancer on 127.0.0.1 that sends each new connection to a ready backend. */
export interface TcpBalancer {
  readonly port: number;
  /** `ws://127.0.0.1:<port>/ws` */
  readonly wsUrl: string;
  /** The backend (its base URL) each accepted connection went to, in order. */
  readonly routed: readonly string[];
  /** Stops listening and cuts every connection. Idempotent. */
  close(): Promise<void>;
}

/** Listens on a free port of 127.0.0.1; resolves with the port. */
export async function listenOnLoopback(server: Server): Promise<number> {
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const address = server.address();
  if (address === null || typeof address === 'string') {
    throw new Error('the server has no TCP address');
  }
  return address.port;
}

const READY_CHECK_TIMEOUT_MS = 1_000;

/** Whether the node at `base` answers GET /readyz with 200 (a draining or dead node does not). */
async function isReady(base: string): Promise<boolean> {
  try {
    const res = await fetch(`${base}/readyz`, { signal: AbortSignal.timeout(READY_CHECK_TIMEOUT_MS) });
    await res.body?.cancel();
    return res.status === 200;
  } catch {
    return false;
  }
}

/**
 * Like a proxy with `/readyz` health checks, minus the caching: for each new connection it asks
 * the backends (`http://host:port` base URLs) in turn, starting after the last one used, and pipes
 * the connection to the first that is ready; with none ready, the connection is closed.
 * So clients that reconnect when a node drains land on another node.
 */
export async function startTcpBalancer(backends: readonly string[]): Promise<TcpBalancer> {
  const sockets = new Set<Socket>();
  const routed: string[] = [];
  let next = 0;

  const pickBackend = async (): Promise<string | undefined> => {
    for (let i = 0; i < backends.length; i++) {
      const candidate = backends[(next + i) % backends.length];
      if (candidate !== undefined && (await isReady(candidate))) {
        next = (next + i + 1) % backends.length;
        return candidate;
      }
    }
    return undefined;
  };

  const track = (socket: Socket): void => {
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
    // A reset on either side just ends the pair (see below); never an unhandled error.
    socket.on('error', () => undefined);
  };

  const onConnection = async (client: Socket): Promise<void> => {
    track(client);
    client.pause();
    const backend = await pickBackend();
    if (backend === undefined || client.destroyed) {
      client.destroy();
      return;
    }
    const { hostname, port } = new URL(backend);
    const upstream = connect({ host: hostname, port: Number(port) });
    track(upstream);
    routed.push(backend);
    client.pipe(upstream);
    upstream.pipe(client);
    client.once('close', () => upstream.destroy());
    upstream.once('close', () => client.destroy());
    client.resume();
  };

  const server: Server = createServer((client) => void onConnection(client));
  const port = await listenOnLoopback(server);

  let closing: Promise<void> | undefined;
  return {
    port,
    wsUrl: `ws://127.0.0.1:${port}/ws`,
    routed,
    close() {
      closing ??= new Promise<void>((resolve) => {
        server.close(() => resolve());
        for (const socket of sockets) {
          socket.destroy();
        }
      });
      return closing;
    },
  };
}
