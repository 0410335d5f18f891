import { afterEach, describe, expect, it } from 'vitest';
import { FakeClock } from '@heliograph/common';
import { TestClient } from './helpers/client.js';
import { NO_RATE_LIMITS, startServer, type TestServer } from './helpers/server.js';

let server: TestServer | undefined;
const clients: TestClient[] = [];
afterEach(async () => {
  await Promise.all(clients.splice(0).map((c) => c.close()));
  await server?.close();
  server = undefined;
});

async function open(s: TestServer, user: string, options = {}): Promise<TestClient> {
  const c = await TestClient.open(s.wsUrl, await s.token(user), options);
  clients.push(c);
  return c;
}

function nextPing(c: TestClient): Promise<void> {
  return new Promise((resolve) => c.ws.once('ping', () => resolve()));
}

describe('liveness', () => {
  it('a connection that misses two pongs is dropped; its peer is reconnecting, then leaves when the resume window ends (fake clock)', async () => {
    const clock = new FakeClock();
    server = await startServer({ ping: { intervalMs: 20_000, maxMissed: 2 } }, { clock });
    const alive = await open(server, 'alive');
    const silent = await open(server, 'silent', { autoPong: false });
    await alive.ok('room.join', { room: 'r' });
    const s = await silent.ok('room.join', { room: 'r' });
    await alive.nextEvent('peer.joined');

    for (let beat = 0; beat < 2; beat++) {
      const pinged = Promise.all([nextPing(alive), nextPing(silent)]);
      clock.advance(20_000);
      await pinged;
      // A request after the ping: the pong is ahead of it on the socket, so it has been read.
      await alive.ok('ping', {});
    }
    clock.advance(20_000);
    expect((await alive.nextEvent('peer.reconnecting')).data).toEqual({ peerId: s.peer.id });
    expect((await silent.closed).code).toBe(4408);
    clock.advance(server.config.resume.windowMs);
    const left = await alive.nextEvent('peer.left');
    expect(left.data).toEqual({ peerId: s.peer.id, reason: 'resume_expired' });
    await alive.ok('ping', {});
    expect(alive.ws.readyState).toBe(alive.ws.OPEN);
  });

  it('without resume, a connection that misses two pongs leaves at once with reason timeout (fake clock)', async () => {
    const clock = new FakeClock();
    server = await startServer({ ping: { intervalMs: 20_000, maxMissed: 2 }, resume: { windowMs: 0 } }, { clock });
    const alive = await open(server, 'alive');
    const silent = await open(server, 'silent', { autoPong: false });
    await alive.ok('room.join', { room: 'r' });
    const s = await silent.ok('room.join', { room: 'r' });
    for (let beat = 0; beat < 3; beat++) {
      clock.advance(20_000);
      await alive.ok('ping', {});
    }
    expect((await alive.nextEvent('peer.left')).data).toEqual({ peerId: s.peer.id, reason: 'timeout' });
    expect((await silent.closed).code).toBe(4408);
  });

  it('past the connection cap a connection is closed with 4503', async () => {
    server = await startServer({ limits: { maxConnections: 2 } });
    await open(server, 'a');
    await open(server, 'b');
    expect((await TestClient.refused(server.wsUrl, await server.token('c'))).code).toBe(4503);
    await clients.pop()!.close();
    await open(server, 'c');
  });

  it('a recipient that stops reading is dropped with 4508 and the sender gets PEER_OVERLOADED', async () => {
    server = await startServer({ limits: { ...NO_RATE_LIMITS, maxBufferedBytes: 256 * 1024 } });
    const sender = await open(server, 'sender');
    const stuck = await open(server, 'stuck');
    const watcher = await open(server, 'watcher');
    await sender.ok('room.join', { room: 'r' });
    const st = await stuck.ok('room.join', { room: 'r' });
    await watcher.ok('room.join', { room: 'r' });
    // Stop reading: the kernel buffers fill, then the server's buffer for this socket grows.
    (stuck.ws as unknown as { _socket: { pause(): void } })._socket.pause();

    const payload = 'p'.repeat(60_000);
    let error: string | undefined;
    for (let i = 0; i < 2000 && !error; i++) {
      const res = await sender.request('data.send', { to: st.peer.id, payload });
      if (!res.ok) {
        error = res.error.code;
      }
    }
    expect(error).toBe('PEER_OVERLOADED');
    const left = await watcher.nextEvent('peer.left');
    expect(left.data).toEqual({ peerId: st.peer.id, reason: 'slow_consumer' });
    expect((await sender.fail('data.send', { to: st.peer.id, payload: 'x' })).code).toBe('PEER_NOT_FOUND');
    (stuck.ws as unknown as { _socket: { resume(): void } })._socket.resume();
    const closed = await stuck.closed;
    expect([4508, 1006]).toContain(closed.code);
  });
});
