import type { AddressInfo } from 'node:net';
import type { Server } from 'node:http';
import { createBusinessBackend, type BackendOptions, type RoomServiceRequest, type WebhookEvent } from '../../../../examples/business-backend.js';

export type { RoomServiceRequest, WebhookEvent };

export const HOOK_SECRET = 'hook-secret-0123456789-abcdefghij';

/**
 * The sample business backend (examples/business-backend.ts) on a real port, recording what it
 * is asked and what it receives. It can be stopped and started again on the same port.
 */
export class TestBackend {
  readonly callouts: RoomServiceRequest[] = [];
  readonly events: WebhookEvent[] = [];
  #server: Server;
  #port = 0;

  constructor(readonly options: Omit<BackendOptions, 'hookSecret' | 'onEvent'> & { hookSecret?: string }) {
    this.#server = this.#make();
  }

  get roomServiceUrl(): string {
    return `http://127.0.0.1:${this.#port}/heliograph/room-service`;
  }

  get webhookUrl(): string {
    return `http://127.0.0.1:${this.#port}/heliograph/webhooks`;
  }

  /** Listens on a free port the first time, then on the same port again. */
  async start(): Promise<this> {
    await new Promise<void>((resolve, reject) => {
      this.#server.once('error', reject);
      this.#server.listen(this.#port, '127.0.0.1', () => resolve());
    });
    this.#port = (this.#server.address() as AddressInfo).port;
    return this;
  }

  /** Stops answering: the port refuses connections until `start()`. */
  async stop(): Promise<void> {
    const server = this.#server;
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
    this.#server = this.#make();
  }

  /** Reserves a port without listening (for a backend that is down from the start). */
  async reservePort(): Promise<this> {
    await this.start();
    await this.stop();
    return this;
  }

  #make(): Server {
    const { decide } = this.options;
    return createBusinessBackend({
      ...this.options,
      hookSecret: this.options.hookSecret ?? HOOK_SECRET,
      decide: async (request) => {
        this.callouts.push(request);
        return decide ? decide(request) : { allow: true };
      },
      onEvent: (event) => this.events.push(event),
    });
  }
}
