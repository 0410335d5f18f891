import { readFileSync } from 'node:fs';
import { createServer as createHttpServer, type IncomingMessage, type Server } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';

export type UpgradeHandler = (req: IncomingMessage, socket: Duplex, head: Buffer) => void;

/**
 * A WebSocket-only port (streamers on 8888, SFUs on 8889): plain HTTP, or HTTPS/WSS when the
 * node has a certificate. Ordinary HTTP requests get 426.
 */
export class PortListener {
  readonly #server: Server;
  #port = 0;

  constructor(tls: { cert?: string | undefined; key?: string | undefined }, onUpgrade: UpgradeHandler) {
    const respond = (_req: IncomingMessage, res: import('node:http').ServerResponse) => {
      res.writeHead(426, { 'content-type': 'text/plain', connection: 'close', upgrade: 'websocket' });
      res.end('WebSocket only\n');
    };
    this.#server =
      tls.cert && tls.key
        ? (createHttpsServer({ cert: readFileSync(tls.cert), key: readFileSync(tls.key) }, respond) as unknown as Server)
        : createHttpServer(respond);
    this.#server.on('upgrade', onUpgrade);
    this.#server.on('clientError', (_err, socket) => socket.destroy());
  }

  /** The bound port, once listening. */
  get port(): number {
    return this.#port;
  }

  async listen(host: string, port: number): Promise<number> {
    await new Promise<void>((resolve, reject) => {
      this.#server.once('error', reject);
      this.#server.listen({ host, port }, () => {
        this.#server.off('error', reject);
        resolve();
      });
    });
    this.#port = (this.#server.address() as AddressInfo).port;
    return this.#port;
  }

  /** Stops listening and drops whatever sockets remain. Idempotent. */
  async close(): Promise<void> {
    if (!this.#server.listening) {
      return;
    }
    const closed = new Promise<void>((resolve) => this.#server.close(() => resolve()));
    this.#server.closeAllConnections();
    await closed;
  }
}
