import type { AppError } from '../../shared/app-error.js';

/**
 * The framing of a direct link between two nodes. Every frame is a 4-byte big-endian length of
 * what follows, one byte of kind, then the body:
 *
 * - HELLO, AUTH, WELCOME: the handshake, a JSON body each (`link-handshake.ts`);
 * - REQ: request id (float64), sequence number (float64), the length of the head (uint32), the
 *   head (the message as JSON, less a string field `data`), then `data` itself as raw UTF-8 when
 *   the message had one. A relay's payload is already JSON: it crosses the link as it is, not
 *   encoded a second time inside another JSON string;
 * - OK_EMPTY: request id (the reply `{}`, the usual answer to a delivery);
 * - OK: request id, then the reply as JSON; ERR: request id, then `{code, message}` as JSON;
 * - PING, PONG: nothing (liveness of an idle link).
 */
export const Kind = { HELLO: 1, AUTH: 2, WELCOME: 3, REQ: 4, OK_EMPTY: 5, OK: 6, ERR: 7, PING: 8, PONG: 9 } as const;
export type Kind = (typeof Kind)[keyof typeof Kind];

/** A frame longer than this ends the link (a relay is bounded by the client frame limit, far below). */
export const MAX_FRAME_BYTES = 16 * 1024 * 1024;

/** One frame as read: its kind and body (a view of the received bytes). */
export interface RawFrame {
  kind: number;
  body: Buffer;
}

/** A request as read from a REQ frame; `head` is still to be parsed and checked. */
export interface RequestFrame {
  id: number;
  seq: number;
  head: string;
  data: string | undefined;
}

const HAS_DATA = 1;

/** The answer to a request, as the bus produces it. */
export type Reply = { ok: true; body: unknown } | { ok: false; error: { code: AppError['code']; message: string } };

/** A message to send: a `type`, and maybe a string `data` (a relay's payload, already JSON). */
export interface OutgoingMessage {
  type: string;
  data?: unknown;
}

export function encodeJson(kind: Kind, body: unknown): Buffer {
  const text = body === undefined ? '' : JSON.stringify(body);
  const n = Buffer.byteLength(text);
  const buf = Buffer.allocUnsafe(5 + n);
  buf.writeUInt32BE(1 + n, 0);
  buf[4] = kind;
  buf.write(text, 5);
  return buf;
}

/**
 * A REQ frame. A string field `data` travels raw after the head; anything else is in the head.
 * Hot path (every cross-node relay): the head is serialised with `data` set aside for the call
 * (a property set to undefined is left out by JSON.stringify; no copy of the message is made),
 * and both strings are encoded straight into one buffer sized for the worst case.
 */
export function encodeRequest(id: number, seq: number, message: OutgoingMessage): Buffer {
  const data = typeof message.data === 'string' ? message.data : undefined;
  let head: string;
  if (data === undefined) {
    head = JSON.stringify(message);
  } else {
    message.data = undefined;
    try {
      head = JSON.stringify(message);
    } finally {
      message.data = data;
    }
  }
  // UTF-8 takes at most 3 bytes per UTF-16 code unit.
  const buf = Buffer.allocUnsafe(26 + 3 * (head.length + (data?.length ?? 0)));
  buf[4] = Kind.REQ;
  buf.writeDoubleBE(id, 5);
  buf.writeDoubleBE(seq, 13);
  buf[21] = data === undefined ? 0 : HAS_DATA;
  const headBytes = buf.write(head, 26);
  buf.writeUInt32BE(headBytes, 22);
  const dataBytes = data === undefined ? 0 : buf.write(data, 26 + headBytes);
  const length = 26 + headBytes + dataBytes;
  buf.writeUInt32BE(length - 4, 0);
  return buf.subarray(0, length);
}

/** An answer to request `id`: `{}` as OK_EMPTY, another value as OK, an error as ERR. */
export function encodeReply(id: number, reply: Reply): Buffer {
  const empty = reply.ok && isEmptyObject(reply.body);
  const text = empty ? '' : JSON.stringify(reply.ok ? reply.body : reply.error);
  const n = Buffer.byteLength(text);
  const buf = Buffer.allocUnsafe(4 + 1 + 8 + n);
  buf.writeUInt32BE(buf.length - 4, 0);
  buf[4] = empty ? Kind.OK_EMPTY : reply.ok ? Kind.OK : Kind.ERR;
  buf.writeDoubleBE(id, 5);
  buf.write(text, 13);
  return buf;
}

function isEmptyObject(v: unknown): boolean {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) {
    return false;
  }
  for (const _ in v) {
    return false;
  }
  return true;
}

/** The request in a REQ body, or undefined when the body is malformed. */
export function decodeRequest(body: Buffer): RequestFrame | undefined {
  if (body.length < 21) {
    return undefined;
  }
  const id = body.readDoubleBE(0);
  const seq = body.readDoubleBE(8);
  const flags = body[16]!;
  const headBytes = body.readUInt32BE(17);
  if (!Number.isSafeInteger(id) || !Number.isSafeInteger(seq) || 21 + headBytes > body.length || (flags & ~HAS_DATA) !== 0) {
    return undefined;
  }
  if (!(flags & HAS_DATA) && 21 + headBytes !== body.length) {
    return undefined;
  }
  const head = body.toString('utf8', 21, 21 + headBytes);
  const data = flags & HAS_DATA ? body.toString('utf8', 21 + headBytes) : undefined;
  return { id, seq, head, data };
}

/** The request id and the rest of an OK, OK_EMPTY or ERR body, or undefined. */
export function decodeReply(body: Buffer): { id: number; text: string } | undefined {
  if (body.length < 8) {
    return undefined;
  }
  const id = body.readDoubleBE(0);
  return Number.isSafeInteger(id) ? { id, text: body.toString('utf8', 8) } : undefined;
}

/**
 * Cuts a byte stream into frames. `push` returns the frames completed by a chunk, or undefined
 * once a frame announced more than `maxBytes` (the link must then end: the stream is not ours).
 */
export class FrameReader {
  #pending: Buffer | undefined;
  /** Changed from a small bound during the handshake to the full one once authenticated. */
  maxBytes: number;

  constructor(maxBytes = MAX_FRAME_BYTES) {
    this.maxBytes = maxBytes;
  }

  push(chunk: Buffer): RawFrame[] | undefined {
    let buf = this.#pending ? Buffer.concat([this.#pending, chunk]) : chunk;
    this.#pending = undefined;
    const frames: RawFrame[] = [];
    const max = this.maxBytes;
    let at = 0;
    while (buf.length - at >= 4) {
      const n = buf.readUInt32BE(at);
      if (n < 1 || n > max) {
        return undefined;
      }
      if (buf.length - at - 4 < n) {
        break;
      }
      frames.push({ kind: buf[at + 4]!, body: buf.subarray(at + 5, at + 4 + n) });
      at += 4 + n;
    }
    if (at < buf.length) {
      // Keep a copy: the tail may be a view of a chunk the socket reuses.
      buf = buf.subarray(at);
      if (buf.length > max + 4) {
        return undefined;
      }
      this.#pending = Buffer.from(buf);
    }
    return frames;
  }
}
