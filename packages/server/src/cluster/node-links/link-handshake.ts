import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import type { Socket } from 'node:net';
import Type from 'typebox';
import { Compile } from 'typebox/compile';
import type { Clock } from '@heliograph/common';
import type { NodeId } from '../bus.js';
import { encodeJson, FrameReader, Kind, MAX_FRAME_BYTES, type RawFrame } from './link-frames.js';

/**
 * Mutual authentication of a link with the cluster's shared secret, before any request:
 *
 *   acceptor → dialer   HELLO   { v: 1, node: B, nonce: nB }
 *   dialer → acceptor   AUTH    { node: A, nonce: nA, mac: HMAC(secret, "auth|A|B|nB") }
 *   acceptor → dialer   WELCOME { mac: HMAC(secret, "welcome|B|A|nA") }
 *
 * Each side proves it holds the secret over a nonce the other just drew, so a stranger cannot
 * speak on a link and a recorded handshake cannot be replayed. The dialer also checks that the
 * node answering is the one it meant (an address may have passed to a restarted node). The
 * secret authenticates the link; the bytes after it are not encrypted (a private network, as
 * for Redis without TLS).
 */
const VERSION = 1;
const HANDSHAKE_MAX_BYTES = 1024;
const Id = Type.String({ minLength: 1, maxLength: 128 });
const Nonce = Type.String({ minLength: 16, maxLength: 64 });
const Mac = Type.String({ minLength: 16, maxLength: 128 });
const isHello = Compile(Type.Object({ v: Type.Literal(VERSION), node: Id, nonce: Nonce }));
const isAuth = Compile(Type.Object({ node: Id, nonce: Nonce, mac: Mac }));
const isWelcome = Compile(Type.Object({ mac: Mac }));

export interface HandshakeOptions {
  secret: string;
  self: NodeId;
  clock: Clock;
  timeoutMs: number;
}

/** An authenticated link: the node at the other end, the reader (set for frames), and frames already read. */
export interface Authenticated {
  peer: NodeId;
  reader: FrameReader;
  early: RawFrame[];
}

const mac = (secret: string, text: string): string => createHmac('sha256', secret).update(text).digest('base64url');

function sameMac(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

function parse(frame: RawFrame | undefined, kind: number): unknown {
  if (!frame || frame.kind !== kind) {
    return undefined;
  }
  try {
    return JSON.parse(frame.body.toString('utf8'));
  } catch {
    return undefined;
  }
}

/** A handshake step's answer: wait for the next frame (a node id is a string, so it is a symbol). */
const MORE = Symbol('more');

/**
 * Runs `step` over the socket's frames, one frame at a time, until it returns the other node's id.
 * Rejects (and the caller destroys the socket) on a bad frame, a close or the timeout.
 */
function converse(socket: Socket, o: HandshakeOptions, step: (frame: RawFrame) => NodeId | typeof MORE | undefined): Promise<Authenticated> {
  const reader = new FrameReader(HANDSHAKE_MAX_BYTES);
  return new Promise<Authenticated>((resolve, reject) => {
    const timer = o.clock.setTimeout(() => fail('handshake timed out'), o.timeoutMs);
    const done = () => {
      o.clock.clearTimeout(timer);
      socket.off('data', onData);
      socket.off('close', onClose);
    };
    const fail = (why: string) => {
      done();
      reject(new Error(why));
    };
    const onClose = () => fail('closed during the handshake');
    const onData = (chunk: Buffer) => {
      const frames = reader.push(chunk);
      if (!frames) {
        fail('oversized handshake frame');
        return;
      }
      for (let i = 0; i < frames.length; i++) {
        const outcome = step(frames[i]!);
        if (outcome === undefined) {
          fail('handshake refused');
          return;
        }
        if (outcome !== MORE) {
          done();
          reader.maxBytes = MAX_FRAME_BYTES;
          resolve({ peer: outcome, reader, early: frames.slice(i + 1) });
          return;
        }
      }
    };
    socket.on('data', onData);
    socket.on('close', onClose);
  });
}

/** The accepting side: HELLO, then check AUTH and answer WELCOME. Resolves with the dialer's id. */
export function acceptHandshake(socket: Socket, o: HandshakeOptions): Promise<Authenticated> {
  const nonce = randomBytes(24).toString('base64url');
  socket.write(encodeJson(Kind.HELLO, { v: VERSION, node: o.self, nonce }));
  return converse(socket, o, (frame) => {
    const auth = parse(frame, Kind.AUTH);
    if (!isAuth.Check(auth) || auth.node === o.self || !sameMac(auth.mac, mac(o.secret, `auth|${auth.node}|${o.self}|${nonce}`))) {
      return undefined;
    }
    socket.write(encodeJson(Kind.WELCOME, { mac: mac(o.secret, `welcome|${o.self}|${auth.node}|${auth.nonce}`) }));
    return auth.node;
  });
}

/** The dialing side, to node `expected`: answer HELLO with AUTH, then check WELCOME. */
export function dialHandshake(socket: Socket, o: HandshakeOptions, expected: NodeId): Promise<Authenticated> {
  const nonce = randomBytes(24).toString('base64url');
  let helloSeen = false;
  return converse(socket, o, (frame) => {
    if (!helloSeen) {
      const hello = parse(frame, Kind.HELLO);
      if (!isHello.Check(hello) || hello.node !== expected) {
        return undefined;
      }
      helloSeen = true;
      socket.write(encodeJson(Kind.AUTH, { node: o.self, nonce, mac: mac(o.secret, `auth|${o.self}|${expected}|${hello.nonce}`) }));
      return MORE;
    }
    const welcome = parse(frame, Kind.WELCOME);
    return isWelcome.Check(welcome) && sameMac(welcome.mac, mac(o.secret, `welcome|${expected}|${o.self}|${nonce}`)) ? expected : undefined;
  });
}
