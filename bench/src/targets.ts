import { SignJWT } from 'jose';
import { io as ioClient } from 'socket.io-client';
import { WebSocket } from 'ws';

/** One client connection of a load generator, whatever the server. */
export interface Conn {
  /** The id others address this client by. */
  id: string;
  send(to: string, signalJson: string): void;
  close(): void;
}

/** Called with each signal's JSON text as it was sent. */
export type OnSignal = (signalJson: string) => void;

/** Acknowledgements its connections have read so far, for servers that acknowledge. */
export interface AckCount {
  ok: number;
  failed: number;
}

export interface TargetClient {
  connect(name: string, room: string, onSignal: OnSignal): Promise<Conn>;
  /** Heliograph only: the acks read so far on all of this client's connections. */
  acks?(): AckCount;
}

export type TargetName = 'heliograph' | 'floor' | 'peerjs' | 'socketio';

function open(url: string): Promise<WebSocket> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, { perMessageDeflate: false });
    ws.once('open', () => resolve(ws));
    ws.once('error', reject);
  });
}

const OK_TRUE = Buffer.from('"ok":true');

/** Heliograph's native protocol: token, session.ready, room.join, acked signal.send. */
function heliograph(port: number, secret: string): TargetClient {
  const key = new TextEncoder().encode(secret);
  let nextId = 1;
  const acks: AckCount = { ok: 0, failed: 0 };
  return {
    acks: () => ({ ...acks }),
    async connect(name, room, onSignal) {
      const token = await new SignJWT({ grants: [{ room: '*', join: true, create: true }] })
        .setProtectedHeader({ alg: 'HS256' })
        .setSubject(name)
        .setExpirationTime('1h')
        .sign(key);
      // Listen before 'open': the first frame can arrive in the same read as the handshake.
      const ws = new WebSocket(`ws://127.0.0.1:${port}/ws?token=${token}`, { perMessageDeflate: false });
      const peerId = await new Promise<string>((resolve, reject) => {
        ws.once('error', reject);
        ws.on('message', function first(raw: Buffer) {
          const frame = JSON.parse(raw.toString()) as { type?: string; id?: number; ok?: boolean; data?: { peer?: { id: string } } };
          if (frame.type === 'session.ready') {
            ws.send(JSON.stringify({ id: 0, type: 'room.join', data: { room } }));
          } else if (frame.id === 0) {
            ws.off('message', first);
            return frame.ok && frame.data?.peer ? resolve(frame.data.peer.id) : reject(new Error(raw.toString()));
          }
        });
      });
      const prefix = '{"type":"signal","seq":';
      ws.on('message', (raw: Buffer) => {
        // Acks ({"id":N,"ok":…) are told by their third byte and only counted; events start {"type":….
        if (raw[2] !== 0x74) {
          if (raw.includes(OK_TRUE)) {
            acks.ok++;
          } else {
            acks.failed++;
          }
          return;
        }
        const text = raw.toString();
        if (text.startsWith(prefix)) {
          const at = text.indexOf('"signal":', prefix.length);
          onSignal(text.slice(at + 9, -2));
        }
      });
      return {
        id: peerId,
        send: (to, signalJson) => ws.send(`{"id":${nextId++},"type":"signal.send","data":{"to":"${to}","signal":${signalJson}}}`),
        close: () => ws.close(),
      };
    },
  };
}

/** The floor relay: name in the URL, `{"to":…}` frames forwarded verbatim. */
function floor(port: number): TargetClient {
  return {
    async connect(name, _room, onSignal) {
      const ws = await open(`ws://127.0.0.1:${port}/?id=${name}`);
      ws.on('message', (raw: Buffer) => {
        const text = raw.toString();
        onSignal(text.slice(text.indexOf('"signal":') + 9, -1));
      });
      return { id: name, send: (to, signalJson) => ws.send(`{"to":"${to}","signal":${signalJson}}`), close: () => ws.close() };
    },
  };
}

/** The PeerJS server's protocol, as the peerjs client speaks it. */
function peerjs(port: number): TargetClient {
  return {
    async connect(name, _room, onSignal) {
      const ws = new WebSocket(`ws://127.0.0.1:${port}/peerjs?key=peerjs&id=${name}&token=bench`, { perMessageDeflate: false });
      await new Promise<void>((resolve, reject) => {
        ws.once('error', reject);
        ws.on('message', function first(raw: Buffer) {
          if (raw.toString().includes('"OPEN"')) {
            ws.off('message', first);
            resolve();
          }
        });
      });
      ws.on('message', (raw: Buffer) => {
        const msg = JSON.parse(raw.toString()) as { type: string; payload?: unknown };
        if (msg.type === 'CANDIDATE') {
          onSignal(JSON.stringify(msg.payload));
        }
      });
      return {
        id: name,
        send: (to, signalJson) => ws.send(`{"type":"CANDIDATE","dst":"${to}","payload":${signalJson}}`),
        close: () => ws.close(),
      };
    },
  };
}

/** A Socket.IO relay: emit to the target socket id. */
function socketio(port: number): TargetClient {
  return {
    async connect(_name, _room, onSignal) {
      const socket = ioClient(`http://127.0.0.1:${port}`, { transports: ['websocket'], reconnection: false });
      await new Promise<void>((resolve, reject) => {
        socket.once('connect', () => resolve());
        socket.once('connect_error', reject);
      });
      socket.on('signal', (_from: string, message: unknown) => onSignal(JSON.stringify(message)));
      return {
        id: socket.id ?? '',
        send: (to, signalJson) => socket.emit('signal', to, JSON.parse(signalJson) as unknown),
        close: () => socket.close(),
      };
    },
  };
}

export function targetClient(name: TargetName, port: number, secret: string): TargetClient {
  switch (name) {
    case 'heliograph':
      return heliograph(port, secret);
    case 'floor':
      return floor(port);
    case 'peerjs':
      return peerjs(port);
    case 'socketio':
      return socketio(port);
  }
}
