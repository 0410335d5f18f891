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
  /** The seq of the next event `event()` pushes. */
  nextSeq = 1;

  constructor(readonly url: string) {
    FakeWebSocket.instances.push(this);
  }

  send(data: string): void {
    this.sent.push(JSON.parse(data) as { id: number; type: string; data: unknown });
  }
  close(code = 1000, reason = ''): void {
    this.serverClose(code, reason);
  }

  /** The server accepts: open, then `session.ready` (with resume credentials when given). */
  accept(userId = 'u1', resume?: { session: string; secret: string; windowMs: number }): void {
    this.readyState = 1;
    this.onopen?.({});
    this.event('session.ready', { userId, protocol: 1, serverTime: 0, ...(resume ? { resume } : {}) });
  }
  /** Pushes an event with the next seq of this connection, or the given one (a replay). */
  event(type: string, data: unknown, seq = this.nextSeq): void {
    this.nextSeq = Math.max(this.nextSeq, seq + 1);
    this.push({ type, seq, data });
  }
  /** The requests sent of this type. */
  sentOf(type: string): Array<{ id: number; type: string; data: unknown }> {
    return this.sent.filter((f) => f.type === type);
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
