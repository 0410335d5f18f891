import { afterEach, describe, expect, it } from 'vitest';
import { HEALTH_RESERVE } from '../../src/transport/open-file-limit.js';
import { TestClient } from '../helpers/client.js';
import { startServer, type TestServer } from '../helpers/server.js';
import { until } from '../helpers/wait.js';
import { httpGet, openIdle, openRaw, upgradeRefusal, type RawSocket } from './sockets.js';

const MAX_SOCKETS = 6;
/** Idle sockets stay open for the whole test. */
const HTTP = { headersTimeoutMs: 60_000, requestTimeoutMs: 60_000, idleTimeoutMs: 60_000 };

let server: TestServer | undefined;
const sockets: RawSocket[] = [];

afterEach(async () => {
  sockets.splice(0).forEach((s) => s.destroy());
  await server?.close();
  server = undefined;
});

async function start(): Promise<{ main: number; streamer: number }> {
  server = await startServer({
    http: HTTP,
    limits: { maxSockets: MAX_SOCKETS },
    pixelStreaming: { enabled: true, streamerPort: 0, sfuPort: 0 },
  });
  return { main: Number(new URL(server.url).port), streamer: server.app.pixelStreaming!.ports.streamer };
}

async function idle(port: number, count: number): Promise<RawSocket[]> {
  const opened = await openIdle(port, count);
  sockets.push(...opened);
  return opened;
}

describe('the socket cap (limits.maxSockets)', () => {
  it('counts the main port and the Pixel Streaming ports together; at the cap only health probes are served', async () => {
    const { main, streamer } = await start();
    // A WebSocket opened before the node fills up: one of the sockets.
    const early = await TestClient.open(server!.wsUrl, await server!.token('early'));
    await early.nextEvent('session.ready');
    await idle(main, 3);
    await idle(streamer, MAX_SOCKETS - 4);

    // The node is at its cap. Probes (on reserve sockets) still answer, and close their socket.
    const health = await httpGet(server!.url, '/healthz');
    expect(health.status).toBe(200);
    expect(health.headers.connection).toBe('close');
    expect((await httpGet(server!.url, '/readyz')).status).toBe(200);

    // Anything else is a clean 503 that closes the socket.
    const refused = await httpGet(server!.url, '/v1/rooms');
    expect(refused.status).toBe(503);
    expect(refused.headers.connection).toBe('close');
    expect(refused.headers['retry-after']).toBe('5');
    expect(JSON.parse(refused.body)).toEqual({ error: { code: 'UNAVAILABLE', message: 'server at its socket limit' } });

    // New WebSockets are refused at the upgrade, on every port.
    for (const url of [server!.wsUrl, server!.url.replace(/^http/, 'ws') + '/player', `ws://127.0.0.1:${streamer}/`]) {
      const upgrade = await upgradeRefusal(url);
      expect(upgrade.status, url).toBe(503);
      expect(upgrade.headers['retry-after'], url).toBe('5');
    }

    // The connection already open works on.
    expect((await early.request('room.join', { room: 'still-here' })).ok).toBe(true);

    // Below the cap again, everything is served.
    sockets.splice(0).forEach((s) => s.destroy());
    await untilServed(server!.url);
    const client = await TestClient.open(server!.wsUrl, await server!.token('later'));
    await client.nextEvent('session.ready');
    await client.close();
    await early.close();
  });

  it(`past the cap and its ${HEALTH_RESERVE} reserve sockets, new sockets are closed at once`, async () => {
    const { main } = await start();
    await idle(main, MAX_SOCKETS + HEALTH_RESERVE);
    const extra = await openRaw(main);
    sockets.push(extra);
    await until(extra.isClosed, 5000, 'the socket past the reserve to be closed');
    expect(extra.received()).toBe('');

    // The reserve free again: probes answer.
    sockets.splice(MAX_SOCKETS, HEALTH_RESERVE).forEach((s) => s.destroy());
    await untilHealthy(server!.url);
  });
});

/** Polls until a plain request is served (the server has seen the idle sockets close). */
async function untilServed(url: string): Promise<void> {
  for (let i = 0; i < 200; i++) {
    if ((await httpGet(url, '/v1/rooms')).status !== 503) {
      return;
    }
    await new Promise((r) => setTimeout(r, 10));
  }
  throw new Error('still refused');
}

async function untilHealthy(url: string): Promise<void> {
  for (let i = 0; i < 200; i++) {
    const ok = await httpGet(url, '/healthz').then(
      (r) => r.status === 200,
      () => false,
    );
    if (ok) {
      return;
    }
    await new Promise((r) => setTimeout(r, 10));
  }
  throw new Error('health probe never answered');
}
