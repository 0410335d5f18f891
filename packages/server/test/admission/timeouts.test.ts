import { afterEach, describe, expect, it } from 'vitest';
import { TestClient } from '../helpers/client.js';
import { startServer, type TestServer } from '../helpers/server.js';
import { until } from '../helpers/wait.js';
import { PsClient } from '../pixel-streaming/ps-client.js';
import { selfSignedCertificate } from '../helpers/tls.js';
import { dribble, httpGet, openRaw, sleep, type RawSocket } from './sockets.js';

/** Small real timeouts: Node's HTTP timers are real ones. */
const HTTP = { headersTimeoutMs: 300, requestTimeoutMs: 400, keepAliveTimeoutMs: 200, idleTimeoutMs: 300 };
/** Far longer than any of them (and than Node's check interval). */
const WELL_PAST = 1500;
/** A request whose headers would take 20 s at one byte every 50 ms. */
const SLOW_HEADERS = `GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ${'a'.repeat(400)}\r\n\r\n`;

let server: TestServer | undefined;
const sockets: RawSocket[] = [];

afterEach(async () => {
  sockets.splice(0).forEach((s) => s.destroy());
  await server?.close();
  server = undefined;
});

async function start(): Promise<{ main: number; streamer: number }> {
  server = await startServer({ http: HTTP, pixelStreaming: { enabled: true, streamerPort: 0, sfuPort: 0 } });
  return { main: Number(new URL(server.url).port), streamer: server.app.pixelStreaming!.ports.streamer };
}

async function raw(port: number): Promise<RawSocket> {
  const socket = await openRaw(port);
  sockets.push(socket);
  return socket;
}

describe.each(['main', 'streamer'] as const)('HTTP timeouts on the %s port', (which) => {
  it('closes a slowloris that dribbles its headers a byte at a time', async () => {
    const port = (await start())[which];
    const slow = await raw(port);
    const sent = await dribble(slow, SLOW_HEADERS, 50);
    await until(slow.isClosed, 5000, 'the slowloris to be closed');
    // Closed long before its headers were complete, never answered as a request.
    expect(sent).toBeLessThan(SLOW_HEADERS.length);
    expect(slow.received()).not.toContain('200 OK');
    if (which === 'main') {
      expect(slow.received()).toMatch(/^HTTP\/1\.1 408 /);
    }
  });

  it('closes a socket that never sends a byte', async () => {
    const port = (await start())[which];
    const idle = await raw(port);
    await until(idle.isClosed, 5000, 'the idle socket to be closed');
    expect(idle.received()).not.toContain('200 OK');
  });
});

describe('TLS', () => {
  it('closes a socket that never starts its TLS handshake (no HTTP parser sees it yet)', async () => {
    const tls = selfSignedCertificate();
    try {
      server = await startServer({ http: HTTP, tls: { cert: tls.cert, key: tls.key } });
      const idle = await raw(Number(new URL(server.url).port));
      await until(idle.isClosed, 5000, 'the idle TLS socket to be closed');
    } finally {
      tls.remove();
    }
  });
});

describe('keep-alive on the main port', () => {
  it('closes an idle keep-alive socket after keepAliveTimeoutMs', async () => {
    const { main } = await start();
    const socket = await raw(main);
    socket.socket.write('GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n');
    await until(() => socket.received().includes('"status":"ok"'), 5000, 'the health answer');
    expect(socket.received()).toMatch(/keep-alive: timeout=0/i);
    await until(socket.isClosed, 5000, 'the keep-alive socket to be closed');
  });
});

describe('WebSockets and the HTTP timeouts', () => {
  it('a native WebSocket idle well past every timeout stays open and works', async () => {
    await start();
    const client = await TestClient.open(server!.wsUrl, await server!.token('alice'));
    await client.nextEvent('session.ready');
    let closed = false;
    void client.closed.then(() => (closed = true));
    await sleep(WELL_PAST);
    expect(closed).toBe(false);
    await client.ok('room.join', { room: 'r1' });
    // And a client that keeps pinging is not cut either.
    for (let i = 0; i < 10; i++) {
      client.ws.ping();
      await sleep(HTTP.idleTimeoutMs / 2);
    }
    expect(closed).toBe(false);
    await client.close();
  });

  it('a streamer idle well past every timeout stays open', async () => {
    const { streamer } = await start();
    const ws = await PsClient.connect(`ws://127.0.0.1:${streamer}/`);
    await ws.expect({ type: 'identify' });
    let closed = false;
    void ws.closed.then(() => (closed = true));
    await sleep(WELL_PAST);
    expect(closed).toBe(false);
    ws.send({ type: 'endpointId', id: 'S1', protocolVersion: '1.0.0' });
    await ws.expectType('config');
    ws.ws.close();
  });

  it('the health routes still answer', async () => {
    await start();
    expect((await httpGet(server!.url, '/healthz')).status).toBe(200);
  });
});
