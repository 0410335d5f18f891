import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createNodeServer, type HttpTimeouts, type TlsFiles } from '../http/node-server.js';
import type { Admission, AdmittedUpgradeHandler } from '../transport/admission.js';

export interface PortListenerOptions {
  tls: TlsFiles;
  /** `http.*`, as on the main port. */
  timeouts: HttpTimeouts;
  /** The node's admission: this port's sockets count with the main port's, and upgrades pass it first. */
  admission: Admission;
}

/**
 * A WebSocket-only port (streamers on 8888, SFUs on 8889): plain HTTP, or HTTPS/WSS when the
 * node has a certificate. Ordinary HTTP requests get 426.
 */
export class PortListener {
  readonly #server: Server;
  #port = 0;

  constructor(options: PortListenerOptions, onUpgrade: AdmittedUpgradeHandler) {
    const respond = (_req: IncomingMessage, res: ServerResponse) => {
      res.writeHead(426, { 'content-type': 'text/plain', connection: 'close', upgrade: 'websocket' });
      res.end('WebSocket only\n');
    };
    const { admission } = options;
    this.#server = createNodeServer(options.tls, options.timeouts, admission.requests(respond));
    admission.watch(this.#server);
    this.#server.on('upgrade', admission.upgrades(onUpgrade));
    this.#server.on('clientError', (_err, socket) => socket.destroy());
  }

  /** The bound port, once listening. */
  get port(): number {
    return this.#port;
  }

  async listen(host: string, port: number): Promise<void> {
    await new Promise<void>((resolve, reject) => {
      this.#server.once('error', reject);
      this.#server.listen({ host, port }, () => {
        this.#server.off('error', reject);
        resolve();
      });
    });
    this.#port = (this.#server.address() as AddressInfo).port;
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
