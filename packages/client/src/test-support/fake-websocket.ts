import type { WebSocketLike } from '../client.js';

/** A scripted WebSocket: the test plays the server, opening, answering and closing by hand. */
export class FakeWebSocket implements WebSocketLike {
  static instances: FakeWebSocket[] = [];
  readyState = 0;
  onopen: ((event: unknown) => void) | null = null;
  onmessage: ((event: { data: unknown }) => void) | null = null;
  onclose: ((event: { code: number; reason: string }) => void) | null = null;
  onerror: ((event: unknown) => void) | null = null;
  readonly sent: Array<{ id: number; type: string; data: unknown }> = [];

  constructor(readonly url: string) {
    FakeWebSocket.instances.push(this);
  }

  send(data: string): void {
    this.sent.push(JSON.parse(data) as { id: number; type: string; data: unknown });
  }
  close(code = 1000, reason = ''): void {
    this.serverClose(code, reason);
  }

  /** The server accepts: open, then `session.ready`. */
  accept(userId = 'u1'): void {
    this.readyState = 1;
    this.onopen?.({});
    this.push({ type: 'session.ready', seq: 1, data: { userId, protocol: 1, serverTime: 0 } });
  }
  push(frame: unknown): void {
    this.onmessage?.({ data: JSON.stringify(frame) });
  }
  reply(id: number, data: unknown): void {
    this.push({ id, ok: true, data });
  }
  serverClose(code: number, reason = ''): void {
    if (this.readyState === 3) {
      return;
    }
    this.readyState = 3;
    this.onclose?.({ code, reason });
  }
}
