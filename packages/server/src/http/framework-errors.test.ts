import type { Socket } from 'node:net';
import { describe, expect, it } from 'vitest';
import { clientErrorHandler } from './framework-errors.js';

/** A socket that records what is written to it. */
function fakeSocket(state: { writable?: boolean; destroyed?: boolean } = {}) {
  const socket = { writable: state.writable ?? true, destroyed: state.destroyed ?? false, written: [] as string[] };
  return Object.assign(socket, {
    write: (text: string) => (socket.written.push(text), true),
    destroy: () => void (socket.destroyed = true),
  });
}

const parserError = (code: string | undefined, rawPacket?: Buffer) => Object.assign(new Error('parse'), { code, rawPacket });

function answer(text: string) {
  const [head, body] = text.split('\r\n\r\n') as [string, string];
  return { lines: head.split('\r\n'), body };
}

describe('clientErrorHandler', () => {
  it.each([
    ['ERR_HTTP_REQUEST_TIMEOUT', 'HTTP/1.1 408 Request Timeout', 'TIMEOUT'],
    ['HPE_HEADER_OVERFLOW', 'HTTP/1.1 431 Request Header Fields Too Large', 'PAYLOAD_TOO_LARGE'],
    ['HPE_INVALID_METHOD', 'HTTP/1.1 400 Bad Request', 'BAD_REQUEST'],
  ])('%s: %s with the documented body, then closes', (code, status, errorCode) => {
    const socket = fakeSocket();
    clientErrorHandler(parserError(code), socket as unknown as Socket);
    const { lines, body } = answer(socket.written[0]!);
    expect(lines[0]).toBe(status);
    expect(lines).toContain('Connection: close');
    expect(lines).toContain(`Content-Length: ${Buffer.byteLength(body)}`);
    expect(JSON.parse(body)).toMatchObject({ error: { code: errorCode } });
    expect(socket.destroyed).toBe(true);
  });

  it('sends no body to a HEAD, but the length it would have had', () => {
    const socket = fakeSocket();
    clientErrorHandler(parserError('HPE_INVALID_HEADER_TOKEN', Buffer.from('HEAD / HTTP/1.1\r\n')), socket as unknown as Socket);
    const { lines, body } = answer(socket.written[0]!);
    expect(body).toBe('');
    expect(Number(lines.find((l) => l.startsWith('Content-Length: '))!.slice(16))).toBeGreaterThan(0);
  });

  it('writes nothing on a reset or a socket already gone, and only destroys one it cannot write to', () => {
    const reset = fakeSocket();
    clientErrorHandler(parserError('ECONNRESET'), reset as unknown as Socket);
    const gone = fakeSocket({ destroyed: true });
    clientErrorHandler(parserError(undefined), gone as unknown as Socket);
    const closing = fakeSocket({ writable: false });
    clientErrorHandler(parserError(undefined), closing as unknown as Socket);
    expect([reset.written, gone.written, closing.written]).toEqual([[], [], []]);
    expect([reset.destroyed, closing.destroyed]).toEqual([false, true]);
  });
});
