/**
 * The floor: the least a relay on `ws` can do. Clients name themselves in the URL (`/?id=a`) and
 * send `{"to":"b",...}`; the relay forwards the frame's text to `b` as it is. No authentication, no
 * validation, no acknowledgements, no rooms. What Heliograph costs is measured against this.
 */
import { WebSocketServer, type WebSocket } from 'ws';

const port = Number(process.env.PORT ?? 0);
const peers = new Map<string, WebSocket>();
const wss = new WebSocketServer({ host: '127.0.0.1', port, perMessageDeflate: false, clientTracking: false });

wss.on('connection', (ws, req) => {
  const id = new URL(req.url ?? '/', 'http://x').searchParams.get('id') ?? '';
  peers.set(id, ws);
  ws.on('message', (data: Buffer) => {
    const text = data.toString();
    const { to } = JSON.parse(text) as { to: string };
    peers.get(to)?.send(text);
  });
  ws.on('close', () => {
    if (peers.get(id) === ws) {
      peers.delete(id);
    }
  });
});

wss.on('listening', () => {
  const address = wss.address() as { port: number };
  console.log(JSON.stringify({ listening: address.port }));
});
process.on('SIGTERM', () => wss.close(() => process.exit(0)));
