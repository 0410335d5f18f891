import { connect, createServer, type Socket } from 'node:net';
import { listenOnLoopback } from '../helpers/tcp-balancer.js';

/**
 * A TCP relay in front of a Redis that can cut and refuse the connections of one kind: the server
 * names each of its connections (`CLIENT SETNAME heliograph-<role>`: pub, sub, directory), which
 * the gate reads as it passes. It turns "one of a node's connections to Redis is back before
 * another" from a race into a test step.
 */
export interface RedisGate {
  /** `redis://127.0.0.1:<port>`, for the nodes' `--redis`. */
  readonly url: string;
  /** Cuts the open connections named `name` and refuses new ones until `unblock`. */
  block(name: string): void;
  unblock(name: string): void;
  /** How many connections named `name` are open now. */
  open(name: string): number;
  /** Stops listening and cuts every connection. Idempotent. */
  close(): Promise<void>;
}

interface Link {
  client: Socket;
  upstream: Socket;
  /** The first bytes the client sent, until its name is known. */
  head: string;
  name: string | undefined;
}

/** The name sits in the first command of a connection; a few KiB are plenty to find it. */
const MAX_HEAD = 4_096;
const NAME = /heliograph-[a-z]+/;

export async function startRedisGate(redisPort: number): Promise<RedisGate> {
  const links = new Set<Link>();
  const blocked = new Set<string>();

  const cut = (link: Link): void => {
    link.client.destroy();
    link.upstream.destroy();
    links.delete(link);
  };

  const server = createServer((client) => {
    const upstream = connect({ host: '127.0.0.1', port: redisPort });
    const link: Link = { client, upstream, head: '', name: undefined };
    links.add(link);
    for (const socket of [client, upstream]) {
      socket.on('error', () => undefined); // a reset just ends the pair
      socket.once('close', () => cut(link));
    }
    upstream.pipe(client);
    client.on('data', (chunk: Buffer) => {
      if (link.name === undefined && link.head.length < MAX_HEAD) {
        link.head += chunk.toString('latin1');
        link.name = NAME.exec(link.head)?.[0];
      }
      if (link.name !== undefined && blocked.has(link.name)) {
        cut(link); // before the command reaches Redis: the connection never becomes ready
        return;
      }
      upstream.write(chunk);
    });
  });
  const port = await listenOnLoopback(server);

  let closing: Promise<void> | undefined;
  return {
    url: `redis://127.0.0.1:${port}`,
    block(name) {
      blocked.add(name);
      for (const link of [...links]) {
        if (link.name === name) {
          cut(link);
        }
      }
    },
    unblock(name) {
      blocked.delete(name);
    },
    open: (name) => [...links].filter((l) => l.name === name).length,
    close() {
      closing ??= new Promise<void>((resolve) => {
        server.close(() => resolve());
        for (const link of [...links]) {
          cut(link);
        }
      });
      return closing;
    },
  };
}
