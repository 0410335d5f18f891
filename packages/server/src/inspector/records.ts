import type { Request } from '@heliograph/protocol';
import type { Session } from '../handlers/handler.js';
import type { Peer } from '../rooms/room.js';
import { redact } from './redact.js';

/** What an operator watches: every signalling message of one room, or of one peer. */
export type InspectTarget = { room: string } | { peer: string };

/**
 * One signalling message as the inspector shows it. `direction` is seen from the server: `in`
 * from a client, `out` to one. `kind` is a client's request, the server's answer to it, an
 * event the server sent (a relayed `signal`, `peer.joined`…), or a Pixel Streaming `message`.
 */
export interface InspectRecord {
  /** Milliseconds since the epoch. */
  at: number;
  /** The node whose connection carried it. */
  node: string;
  direction: 'in' | 'out';
  kind: 'request' | 'answer' | 'event' | 'message';
  /** The request type (`signal.send`), or the event type (`signal`). */
  type: string;
  room?: string | undefined;
  /** The peer whose connection carried it. */
  peer?: string | undefined;
  user?: string | undefined;
  /** The request id, for a request and its answer. */
  id?: string | number | undefined;
  /** Bytes of the frame (a request re-encoded as JSON; an answer as sent). */
  bytes: number;
  /** For an answer: milliseconds from the request to its answer. */
  ms?: number | undefined;
  /** For an answer that failed: its error code. */
  error?: string | undefined;
  /** The body, redacted: SDP and candidates shown, tokens and secrets never. */
  body: unknown;
  /** Records of this capture dropped just before this one (the per-capture rate bound). */
  dropped?: number | undefined;
}

/** What the dispatcher reports of one answered request. */
export interface Answered {
  session: Session;
  request: Request;
  frame: string;
  /** Wall-clock time of the answer. */
  at: number;
  ms: number;
  error: string | undefined;
}

/** The recipient of a relayed signal or data, when the request is one. */
export function recipientOf(request: Request): string | undefined {
  if (request.type === 'signal.send' || request.type === 'data.send') {
    return request.data.to;
  }
  return undefined;
}

/** The event a relayed request hands its recipient: `signal` or `data`, from the sender. */
function relayedEvent(request: Request, from: string | undefined): { type: string; body: unknown } | undefined {
  if (request.type === 'signal.send') {
    return { type: 'signal', body: { from, signal: request.data.signal } };
  }
  if (request.type === 'data.send') {
    return { type: 'data', body: { from, payload: request.data.payload } };
  }
  return undefined;
}

function answerBody(frame: string): unknown {
  try {
    const parsed = JSON.parse(frame) as { data?: unknown; error?: unknown };
    return redact(parsed.error ?? parsed.data ?? null);
  } catch {
    return null;
  }
}

/**
 * The records of one answered request for a capture: the request and its answer when the
 * target's connection sent it, and the relayed event when the target received it.
 */
export function recordsFor(a: Answered, node: string, wantsSender: boolean, wantsRecipient: boolean): InspectRecord[] {
  const { session, request } = a;
  const peer = session.peer;
  const who = { room: peer?.room.id, peer: peer?.id, user: session.identity.userId };
  const out: InspectRecord[] = [];
  if (wantsSender) {
    const requestJson = JSON.stringify(request);
    out.push({
      at: a.at - a.ms,
      node,
      direction: 'in',
      kind: 'request',
      type: request.type,
      ...who,
      id: request.id,
      bytes: Buffer.byteLength(requestJson),
      body: redact(request.data),
    });
    out.push({
      at: a.at,
      node,
      direction: 'out',
      kind: 'answer',
      type: request.type,
      ...who,
      id: request.id,
      bytes: Buffer.byteLength(a.frame),
      ms: round(a.ms),
      error: a.error,
      body: answerBody(a.frame),
    });
  }
  const to = recipientOf(request);
  const event = wantsRecipient && to !== undefined && a.error === undefined ? relayedEvent(request, peer?.id) : undefined;
  if (event) {
    const bytes = Buffer.byteLength(JSON.stringify(event.body));
    out.push({ at: a.at, node, direction: 'out', kind: 'event', type: event.type, room: peer?.room.id, peer: to, bytes, body: redact(event.body) });
  }
  return out;
}

function round(ms: number): number {
  return Math.round(ms * 1000) / 1000;
}

/** The record of a server event sent to `session`'s connection. */
export function eventRecord(session: Session, type: string, dataJson: string, node: string, at: number): InspectRecord {
  const peer = session.peer;
  let body: unknown = null;
  try {
    body = redact(JSON.parse(dataJson));
  } catch {
    // Every event's data was serialised by this server: not reached.
  }
  return {
    at,
    node,
    direction: 'out',
    kind: 'event',
    type,
    room: peer?.room.id,
    peer: peer?.id,
    user: session.identity.userId,
    bytes: Buffer.byteLength(dataJson),
    body,
  };
}

/** The record of a Pixel Streaming message read from (`in`) or written to (`out`) `peer`'s socket. */
export function psRecord(peer: Peer, direction: 'in' | 'out', type: string, message: unknown, bytes: number, node: string, at: number): InspectRecord {
  return { at, node, direction, kind: 'message', type, room: peer.room.id, peer: peer.id, user: peer.userId, bytes, body: redact(message) };
}
