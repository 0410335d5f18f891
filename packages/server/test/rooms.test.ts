import { afterEach, describe, expect, it } from 'vitest';
import { FakeClock } from '@heliograph/common';
import { TestClient } from './helpers/client.js';
import { startServer, type TestServer } from './helpers/server.js';

let server: TestServer | undefined;
const clients: TestClient[] = [];

afterEach(async () => {
  await Promise.all(clients.splice(0).map((c) => c.close()));
  await server?.close();
  server = undefined;
});

async function connect(s: TestServer, userId: string, grants?: Parameters<TestServer['token']>[1]): Promise<TestClient> {
  const client = await TestClient.open(s.wsUrl, await s.token(userId, grants));
  clients.push(client);
  return client;
}

describe('rooms', () => {
  it('ROOM_FULL past the peer limit; a creator may set a lower limit, not a higher one', async () => {
    server = await startServer({ rooms: { maxPeers: 3 } });
    const [a, b, c, d] = await Promise.all(['a', 'b', 'c', 'd'].map((u) => connect(server!, u)));
    const created = await a!.ok('room.join', { room: 'small', create: { maxPeers: 2, metadata: { topic: 'x' } } });
    expect(created.room).toMatchObject({ id: 'small', maxPeers: 2, metadata: { topic: 'x' } });
    await b!.ok('room.join', { room: 'small' });
    const full = await c!.fail('room.join', { room: 'small' });
    expect(full.code).toBe('ROOM_FULL');

    const big = await c!.ok('room.join', { room: 'big', create: { maxPeers: 500 } });
    expect(big.room.maxPeers).toBe(3);
    expect((await d!.ok('room.join', { room: 'big' })).peers).toHaveLength(1);
  });

  it('FORBIDDEN without a grant for the room; ROOM_NOT_FOUND without create', async () => {
    server = await startServer();
    const joinOnly = await connect(server, 'u1', [{ room: 'team-*', join: true }]);
    expect((await joinOnly.fail('room.join', { room: 'other' })).code).toBe('FORBIDDEN');
    expect((await joinOnly.fail('room.join', { room: 'team-1' })).code).toBe('ROOM_NOT_FOUND');
    const creator = await connect(server, 'u2', [{ room: 'team-1', create: true }]);
    await creator.ok('room.join', { room: 'team-1' });
    expect((await joinOnly.ok('room.join', { room: 'team-1' })).peers).toHaveLength(1);
  });

  it('a second session of the same user replaces the first; the others see one peer', async () => {
    server = await startServer();
    const bob = await connect(server, 'bob');
    const first = await connect(server, 'alice');
    await bob.ok('room.join', { room: 'r' });
    const old = await first.ok('room.join', { room: 'r' });
    await bob.nextEvent('peer.joined');

    const second = await connect(server, 'alice');
    const now = await second.ok('room.join', { room: 'r' });
    expect(now.peers.map((p) => p.userId)).toEqual(['bob']);
    expect(await first.nextEvent('session.replaced')).toMatchObject({ data: {} });
    expect((await first.closed).code).toBe(4409);

    const left = await bob.nextEvent('peer.left');
    expect(left.data).toEqual({ peerId: old.peer.id, reason: 'replaced' });
    const joined = await bob.nextEvent('peer.joined');
    expect(joined.data.peer.id).toBe(now.peer.id);
    expect(left.seq).toBeLessThan(joined.seq);
    await bob.ok('ping', {});
    expect(bob.log.filter((e) => e.type === 'peer.left')).toHaveLength(1);
  });

  it('nothing crosses from one room to another', async () => {
    server = await startServer();
    const [a1, a2, b1] = await Promise.all([connect(server, 'a1'), connect(server, 'a2'), connect(server, 'b1')]);
    await a1.ok('room.join', { room: 'A' });
    const p2 = await a2.ok('room.join', { room: 'A' });
    const q1 = await b1.ok('room.join', { room: 'B' });
    expect(q1.peers).toEqual([]);
    expect(await a1.ok('data.send', { payload: 'room A only' })).toEqual({ recipients: 1 });
    expect((await b1.fail('signal.send', { to: p2.peer.id, signal: {} })).code).toBe('PEER_NOT_FOUND');
    await a2.nextEvent('data');
    await b1.ok('ping', {});
    expect(b1.log.map((e) => e.type)).toEqual(['session.ready']);
  });

  it('an empty room lives for its timeout, then is gone (fake clock)', async () => {
    const clock = new FakeClock();
    // Pings would fire in the same jumps of the fake clock, with no I/O for pongs in between.
    server = await startServer({ rooms: { emptyTimeoutMs: 60_000 }, ping: { intervalMs: 3_600_000 } }, { clock });
    const creator = await connect(server, 'owner');
    const guest = await connect(server, 'guest', [{ room: 'r', join: true }]);
    await creator.ok('room.join', { room: 'r' });
    await creator.ok('room.leave', {});
    clock.advance(59_999);
    expect(server.app.rooms.get('r')).toBeDefined();
    await guest.ok('room.join', { room: 'r' });
    await guest.ok('room.leave', {});
    clock.advance(60_000);
    expect(server.app.rooms.get('r')).toBeUndefined();
    expect((await guest.fail('room.join', { room: 'r' })).code).toBe('ROOM_NOT_FOUND');
  });

  it('a per-room empty timeout set at creation is used', async () => {
    const clock = new FakeClock();
    server = await startServer({ rooms: { emptyTimeoutMs: 60_000 } }, { clock });
    const creator = await connect(server, 'owner');
    await creator.ok('room.join', { room: 'r', create: { emptyTimeoutMs: 1000 } });
    await creator.ok('room.leave', {});
    clock.advance(1000);
    expect(server.app.rooms.get('r')).toBeUndefined();
  });
});
