import type { ErrorResponse, Event, EventType, OkResponse, RequestData, RequestType, Response } from '@heliograph/protocol';
import { WebSocket, type ClientOptions } from 'ws';

export interface Closed {
  code: number;
  reason: string;
}

type EventOf<K extends EventType> = Extract<Event, { type: K }>;

/**
 * A raw protocol client for tests: real `ws`, explicit frames, everything it receives recorded.
 * Deliberately not the SDK, so that tests see the wire as it is.
 */
export class TestClient {
  /** Events received and not yet taken by `nextEvent`. */
  readonly events: Event[] = [];
  /** Every event received, in order. */
  readonly log: Event[] = [];
  readonly closed: Promise<Closed>;
  #nextId = 1;
  readonly #pending = new Map<number | string | null, (r: Response) => void>();
  readonly #waiters: Array<{ match: (e: Event) => boolean; resolve: (e: Event) => void }> = [];
  /** Responses with an id nobody waits for (e.g. to raw frames). */
  readonly stray: Response[] = [];

  private constructor(readonly ws: WebSocket) {
    this.closed = new Promise((resolve) => ws.once('close', (code, reason) => resolve({ code, reason: reason.toString() })));
    ws.on('message', (raw) => this.#onFrame(JSON.parse(String(raw)) as Response | Event));
  }

  /** Opens a connection and waits for it to be open (it may still be closed right after). */
  static open(url: string, token?: string, options: ClientOptions = {}): Promise<TestClient> {
    const target = token === undefined ? url : `${url}${url.includes('?') ? '&' : '?'}token=${encodeURIComponent(token)}`;
    const ws = new WebSocket(target, options);
    const client = new TestClient(ws);
    return new Promise((resolve, reject) => {
      ws.once('open', () => resolve(client));
      ws.once('error', reject);
    });
  }

  /** Opens a connection and expects the server to close it; returns the close code and reason. */
  static async refused(url: string, token?: string, options: ClientOptions = {}): Promise<Closed> {
    const client = await TestClient.open(url, token, options);
    return client.closed;
  }

  request<K extends RequestType>(type: K, data: RequestData<K>): Promise<Response<K>> {
    const id = this.#nextId++;
    return this.requestRaw(JSON.stringify({ id, type, data }), id) as Promise<Response<K>>;
  }

  /** Sends a request and returns its data, failing the test on an error response. */
  async ok<K extends RequestType>(type: K, data: RequestData<K>): Promise<OkResponse<K>['data']> {
    const res = await this.request(type, data);
    if (!res.ok) {
      throw new Error(`${type} failed: ${res.error.code} ${res.error.message}`);
    }
    return res.data;
  }

  /** Sends a request and returns its error, failing the test if it succeeds. */
  async fail<K extends RequestType>(type: K, data: RequestData<K>): Promise<ErrorResponse['error']> {
    const res = await this.request(type, data);
    if (res.ok) {
      throw new Error(`${type} unexpectedly succeeded`);
    }
    return res.error;
  }

  /** Sends any text and resolves with the response carrying `expectId`. */
  requestRaw(text: string | Buffer, expectId: number | string | null): Promise<Response> {
    return new Promise((resolve) => {
      this.#pending.set(expectId, resolve);
      this.ws.send(text);
    });
  }

  send(text: string | Buffer): void {
    this.ws.send(text);
  }

  /** Resolves with the next (or an already received, not yet taken) event of this type. */
  nextEvent<K extends EventType>(type: K, match: (e: EventOf<K>) => boolean = () => true, timeoutMs = 5000): Promise<EventOf<K>> {
    const test = (e: Event): boolean => e.type === type && match(e as EventOf<K>);
    const index = this.events.findIndex(test);
    if (index >= 0) {
      return Promise.resolve(this.events.splice(index, 1)[0] as EventOf<K>);
    }
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no ${type} event within ${timeoutMs} ms`)), timeoutMs);
      this.#waiters.push({
        match: test,
        resolve: (e) => {
          clearTimeout(timer);
          resolve(e as EventOf<K>);
        },
      });
    });
  }

  close(): Promise<Closed> {
    this.ws.close();
    return this.closed;
  }

  #onFrame(frame: Response | Event): void {
    if ('seq' in frame) {
      this.log.push(frame);
      const waiter = this.#waiters.findIndex((w) => w.match(frame));
      if (waiter >= 0) {
        this.#waiters.splice(waiter, 1)[0]?.resolve(frame);
      } else {
        this.events.push(frame);
      }
      return;
    }
    const resolve = this.#pending.get(frame.id);
    if (resolve) {
      this.#pending.delete(frame.id);
      resolve(frame);
    } else {
      this.stray.push(frame);
    }
  }
}
