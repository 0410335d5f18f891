import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { TestClient } from './helpers/client.js';
import { NO_RATE_LIMITS, startServer, type TestServer } from './helpers/server.js';

let server: TestServer;
const clients: TestClient[] = [];

beforeEach(async () => {
  // The order test sends 1,000 requests at once; rate limits have their own tests.
  server = await startServer({ limits: NO_RATE_LIMITS });
});
afterEach(async () => {
  await Promise.all(clients.splice(0).map((c) => c.close()));
  await server.close();
});

async function connect(userId: string, name?: string): Promise<TestClient> {
  const client = await TestClient.open(server.wsUrl, await server.token(userId, undefined, name ? { name } : {}));
  clients.push(client);
  return client;
}

describe('two peers in a room', () => {
  it('join, see each other, and relay offer, answer and candidates, every send acked', async () => {
    const alice = await connect('alice', 'Alice');
    const bob = await connect('bob');
    const a = await alice.ok('room.join', { room: 'call-1' });
    expect(a.room.id).toBe('call-1');
    expect(a.peers).toEqual([]);
    expect(a.peer).toMatchObject({ userId: 'alice', name: 'Alice', metadata: {} });
    expect(a.iceServers).toEqual([]);

    const b = await bob.ok('room.join', { room: 'call-1', name: 'Bob', metadata: { camera: true } });
    expect(b.peers.map((p) => p.id)).toEqual([a.peer.id]);
    const joined = await alice.nextEvent('peer.joined');
    expect(joined.data.peer).toEqual(b.peer);
    expect(joined.seq).toBe(2);

    const offer = { description: { type: 'offer', sdp: 'v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\n' } };
    expect(await alice.ok('signal.send', { to: b.peer.id, signal: offer })).toEqual({});
    const got = await bob.nextEvent('signal');
    expect(got.data).toEqual({ from: a.peer.id, signal: offer });

    const answer = { description: { type: 'answer', sdp: 'v=0\r\n' } };
    await bob.ok('signal.send', { to: a.peer.id, signal: answer });
    expect((await alice.nextEvent('signal')).data.signal).toEqual(answer);

    const candidate = { candidate: { candidate: 'candidate:1 1 udp 2122260223 127.0.0.1 50000 typ host', sdpMid: '0', sdpMLineIndex: 0 } };
    await alice.ok('signal.send', { to: b.peer.id, signal: candidate });
    await bob.ok('signal.send', { to: a.peer.id, signal: { candidate: null } });
    expect((await bob.nextEvent('signal')).data.signal).toEqual(candidate);
    expect((await alice.nextEvent('signal')).data.signal).toEqual({ candidate: null });
  });

  it('PEER_NOT_FOUND for an unknown peer and for one that has left', async () => {
    const alice = await connect('alice');
    const bob = await connect('bob');
    await alice.ok('room.join', { room: 'r' });
    const b = await bob.ok('room.join', { room: 'r' });
    expect((await alice.fail('signal.send', { to: 'PR_nobody', signal: {} })).code).toBe('PEER_NOT_FOUND');

    await bob.close();
    const left = await alice.nextEvent('peer.left');
    expect(left.data).toEqual({ peerId: b.peer.id, reason: 'disconnected' });
    expect((await alice.fail('signal.send', { to: b.peer.id, signal: {} })).code).toBe('PEER_NOT_FOUND');
  });

  it('room.leave tells the others, and the connection can join again', async () => {
    const alice = await connect('alice');
    const bob = await connect('bob');
    await alice.ok('room.join', { room: 'r' });
    const b = await bob.ok('room.join', { room: 'r' });
    expect(await bob.ok('room.leave', {})).toEqual({});
    expect((await alice.nextEvent('peer.left')).data).toEqual({ peerId: b.peer.id, reason: 'left' });
    expect((await bob.fail('room.leave', {})).code).toBe('NOT_IN_ROOM');
    const again = await bob.ok('room.join', { room: 'r' });
    expect(again.peer.id).not.toBe(b.peer.id);
  });

  it('NOT_IN_ROOM before joining, ALREADY_IN_ROOM when joining twice', async () => {
    const alice = await connect('alice');
    expect((await alice.fail('signal.send', { to: 'x', signal: {} })).code).toBe('NOT_IN_ROOM');
    expect((await alice.fail('data.send', { payload: 1 })).code).toBe('NOT_IN_ROOM');
    expect((await alice.fail('peer.update', { name: 'A' })).code).toBe('NOT_IN_ROOM');
    await alice.ok('room.join', { room: 'r' });
    expect((await alice.fail('room.join', { room: 'other' })).code).toBe('ALREADY_IN_ROOM');
  });

  it('data.send to one peer or to everyone else, with the count of recipients', async () => {
    const [alice, bob, carol] = await Promise.all([connect('alice'), connect('bob'), connect('carol')]);
    const a = await alice.ok('room.join', { room: 'r' });
    const b = await bob.ok('room.join', { room: 'r' });
    await carol.ok('room.join', { room: 'r' });
    expect(await alice.ok('data.send', { payload: { text: 'hi all' } })).toEqual({ recipients: 2 });
    expect((await bob.nextEvent('data')).data).toEqual({ from: a.peer.id, payload: { text: 'hi all' } });
    expect((await carol.nextEvent('data')).data.payload).toEqual({ text: 'hi all' });
    expect(await alice.ok('data.send', { to: b.peer.id, payload: 'just bob' })).toEqual({ recipients: 1 });
    expect((await bob.nextEvent('data')).data.payload).toBe('just bob');
    await alice.ok('ping', {});
    expect(carol.events.filter((e) => e.type === 'data')).toEqual([]);
  });

  it('peer.update changes name and metadata and tells the others', async () => {
    const alice = await connect('alice');
    const bob = await connect('bob');
    await alice.ok('room.join', { room: 'r' });
    await bob.ok('room.join', { room: 'r' });
    const updated = await bob.ok('peer.update', { name: 'Robert', metadata: { hand: 'raised' } });
    expect(updated.peer).toMatchObject({ name: 'Robert', metadata: { hand: 'raised' } });
    expect((await alice.nextEvent('peer.updated')).data.peer).toEqual(updated.peer);
  });

  it('ping answers with the server time', async () => {
    const alice = await connect('alice');
    const before = Date.now();
    const { serverTime } = await alice.ok('ping', {});
    expect(serverTime).toBeGreaterThanOrEqual(before - 1000);
    expect(serverTime).toBeLessThanOrEqual(Date.now() + 1000);
  });

  it('keeps per-pair order over 1,000 messages and acks every one', async () => {
    const alice = await connect('alice');
    const bob = await connect('bob');
    await alice.ok('room.join', { room: 'r' });
    const b = await bob.ok('room.join', { room: 'r' });
    const acks = [];
    for (let i = 0; i < 1000; i++) {
      acks.push(alice.request('signal.send', { to: b.peer.id, signal: { candidate: { n: i } } }));
    }
    const responses = await Promise.all(acks);
    expect(responses.every((r) => r.ok)).toBe(true);
    const received: number[] = [];
    for (let i = 0; i < 1000; i++) {
      const e = await bob.nextEvent('signal');
      received.push((e.data.signal as { candidate: { n: number } }).candidate.n);
    }
    expect(received).toEqual([...Array(1000).keys()]);
    const seqs = bob.log.map((e) => e.seq);
    expect(seqs).toEqual([...Array(seqs.length).keys()].map((i) => i + 1));
  });
});

describe('session.ready', () => {
  it('is the first event on an accepted connection and names the user', async () => {
    const alice = await connect('alice', 'Alice');
    const ready = await alice.nextEvent('session.ready');
    expect(ready.seq).toBe(1);
    expect(ready.data).toMatchObject({ userId: 'alice', name: 'Alice', protocol: 1 });
    expect(typeof ready.data.serverTime).toBe('number');
  });
});
