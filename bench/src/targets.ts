import { SignJWT } from 'jose';
import { io as ioClient } from 'socket.io-client';
import { WebSocket } from 'ws';
import { heliographTarget, type TargetClient } from '@heliograph/server/loadtest';

export type { AckCount, Conn, OnSignal, TargetClient } from '@heliograph/server/loadtest';

export type TargetName = 'heliograph' | 'floor' | 'peerjs' | 'socketio';

function open(url: string): Promise<WebSocket> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, { perMessageDeflate: false });
    ws.once('open', () => resolve(ws));
    ws.once('error', reject);
  });
}

/** Heliograph's native protocol (the shared load client), tokens signed here with the bench's secret. */
function heliograph(port: number, secret: string): TargetClient {
  const key = new TextEncoder().encode(secret);
  return heliographTarget({
    wsUrl: `ws://127.0.0.1:${port}/ws`,
    token: (name) =>
      new SignJWT({ grants: [{ room: '*', join: true, create: true }] })
        .setProtectedHeader({ alg: 'HS256' })
        .setSubject(name)
        .setExpirationTime('1h')
        .sign(key),
  });
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
