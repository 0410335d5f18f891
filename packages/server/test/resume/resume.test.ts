import type { Event } from '@heliograph/protocol';
import { afterEach, describe, expect, it } from 'vitest';
import { FakeClock } from '@heliograph/common';
import { TestClient } from '../helpers/client.js';
import { startCutProxy, type CutProxy } from '../helpers/cut-proxy.js';
import { startServer, type TestServer } from '../helpers/server.js';

/**
 * Session resume on one node, with real sockets: a connection cut the way networks cut them
 * (silently, or with a reset), a partner that keeps sending, room events meanwhile, and the
 * client taking its session back on a new connection with nothing lost, nothing twice.
 */
let server: TestServer;
let proxy: CutProxy | undefined;
const clients: TestClient[] = [];
afterEach(async () => {
  // The proxy first: a cut connection would never finish its close handshake.
  await proxy?.close();
  proxy = undefined;
  await Promise.all(clients.splice(0).map((c) => c.close().catch(() => undefined)));
  await server?.close();
});

type Credentials = { session: string; secret: string; windowMs: number };

async function open(user: string, via?: CutProxy): Promise<TestClient> {
  const url = via ? `ws://${via.address}/ws` : server.wsUrl;
  const c = await TestClient.open(url, await server.token(user));
  clients.push(c);
  return c;
}

async function credentials(client: TestClient): Promise<Credentials> {
  const ready = await client.nextEvent('session.ready');
  const resume = ready.data.resume;
  if (!resume) {
    throw new Error('no resume credentials in session.ready');
  }
  return resume;
}

/** The highest seq the client has received. */
const lastSeq = (client: TestClient): number => client.log.at(-1)?.seq ?? 0;

/** A new connection for `user` that resumes `creds` from `seq`; returns it with the answer. */
async function resume(user: string, creds: Credentials, seq: number, secret = creds.secret) {
  const client = await open(user);
  await client.nextEvent('session.ready');
  const answer = await client.request('session.resume', { session: creds.session, secret, lastSeq: seq });
  return { client, answer };
}

/** Waits until `client` has received `count` events after the answer, then returns them. */
async function eventsAfter(client: TestClient, fromIndex: number, count: number): Promise<Event[]> {
  const deadline = Date.now() + 5_000;
  while (client.log.length - fromIndex < count) {
    if (Date.now() > deadline) {
      throw new Error(`got ${client.log.length - fromIndex} of ${count} events`);
    }
    await new Promise((r) => setTimeout(r, 10));
  }
  return client.log.slice(fromIndex);
}

/**
 * Alice and bob in room `r`; bob's socket is then reset (the server sees it end without a close
 * frame) and alice has seen `peer.reconnecting`. Returns bob's credentials, peer id and last seq.
 */
async function bobDropped() {
  const alice = await open('alice');
  const bob = await open('bob');
  const creds = await credentials(bob);
  await alice.ok('room.join', { room: 'r' });
  const b = await bob.ok('room.join', { room: 'r' });
  const seen = lastSeq(bob);
  bob.ws.terminate();
  expect((await alice.nextEvent('peer.reconnecting')).data).toEqual({ peerId: b.peer.id });
  return { alice, creds, bobId: b.peer.id, seen };
}

describe('session resume on one node', () => {
  it('a silently cut client resumes on a new connection and gets every signal and room event it missed, in order, once', async () => {
    server = await startServer();
    proxy = await startCutProxy(new URL(server.url).host);
    const alice = await open('alice');
    const bob = await open('bob', proxy);
    const creds = await credentials(bob);
    const a = await alice.ok('room.join', { room: 'r' });
    const b = await bob.ok('room.join', { room: 'r' });
    await bob.nextEvent('peer.joined').catch(() => undefined);
    const seen = lastSeq(bob);

    proxy.cut();
    // The server cannot tell: everything below is acknowledged as handed to bob's socket.
    for (let n = 0; n < 200; n++) {
      expect(await alice.ok('signal.send', { to: b.peer.id, signal: { n } })).toEqual({});
    }
    const carol = await open('carol');
    await carol.ok('room.join', { room: 'r' });
    await carol.ok('peer.update', { metadata: { mood: 'curious' } });
    await carol.ok('room.leave', {});
    await alice.ok('data.send', { payload: { hello: 'bob' } });

    const { client: bob2, answer } = await resume('bob', creds, seen);
    expect(answer).toMatchObject({ ok: true, data: { replayed: 204, peer: { id: b.peer.id }, room: { id: 'r' } } });
    const replay = await eventsAfter(bob2, 1, 204);
    expect(replay.map((e) => e.seq)).toEqual(Array.from({ length: 204 }, (_, i) => seen + 1 + i));
    expect(replay.slice(0, 200).map((e) => (e.type === 'signal' ? e.data : undefined))).toEqual(
      Array.from({ length: 200 }, (_, n) => ({ from: a.peer.id, signal: { n } })),
    );
    expect(replay.slice(200).map((e) => e.type)).toEqual(['peer.joined', 'peer.updated', 'peer.left', 'data']);

    // Live events continue the numbering; the same peer goes on; nobody saw it leave.
    await alice.ok('signal.send', { to: b.peer.id, signal: { live: true } });
    const live = await bob2.nextEvent('signal', (e) => (e.data.signal as { live?: boolean }).live === true);
    expect(live.seq).toBe(seen + 205);
    await bob2.ok('signal.send', { to: a.peer.id, signal: { back: true } });
    expect((await alice.nextEvent('signal')).data.from).toBe(b.peer.id);
    expect(alice.log.filter((e) => e.type === 'peer.left' && e.data.peerId === b.peer.id)).toEqual([]);
  });

  it('a dropped connection leaves its peer reconnecting; signals to it are acked as queued and delivered on resume', async () => {
    server = await startServer();
    const alice = await open('alice');
    const bob = await open('bob');
    const creds = await credentials(bob);
    const a = await alice.ok('room.join', { room: 'r' });
    const b = await bob.ok('room.join', { room: 'r' });
    const seen = lastSeq(bob);

    bob.ws.terminate(); // a reset: the server sees the socket end without a close frame
    expect((await alice.nextEvent('peer.reconnecting')).data).toEqual({ peerId: b.peer.id });
    expect(await alice.ok('signal.send', { to: b.peer.id, signal: { sdp: 'offer' } })).toEqual({ queued: true });
    expect(await alice.ok('data.send', { to: b.peer.id, payload: 1 })).toEqual({ recipients: 1, queued: true });

    const { client: bob2, answer } = await resume('bob', creds, seen);
    expect(answer).toMatchObject({ ok: true, data: { replayed: 2 } });
    const replay = await eventsAfter(bob2, 1, 2);
    expect(replay.map((e) => [e.type, e.seq])).toEqual([
      ['signal', seen + 1],
      ['data', seen + 2],
    ]);
    expect((await alice.nextEvent('peer.reconnected')).data).toEqual({ peerId: b.peer.id });
    expect(await alice.ok('signal.send', { to: b.peer.id, signal: { sdp: 'again' } })).toEqual({});
    expect(alice.log.some((e) => e.type === 'peer.left')).toBe(false);
    void a;
  });

  it('a request whose answer was lost is answered once when re-sent after the resume, and applied once', async () => {
    server = await startServer();
    proxy = await startCutProxy(new URL(server.url).host);
    const alice = await open('alice');
    const bob = await open('bob', proxy);
    const creds = await credentials(bob);
    const a = await alice.ok('room.join', { room: 'r' });
    await bob.ok('room.join', { room: 'r' });
    const seen = lastSeq(bob);

    proxy.cut('down'); // bob's frames still reach the server; its answers are lost
    bob.send(JSON.stringify({ id: 'lost-1', type: 'data.send', data: { to: a.peer.id, payload: 'once' } }));
    await alice.nextEvent('data');

    const { client: bob2 } = await resume('bob', creds, seen);
    const again = await bob2.requestRaw(JSON.stringify({ id: 'lost-1', type: 'data.send', data: { to: a.peer.id, payload: 'once' } }), 'lost-1');
    expect(again).toEqual({ id: 'lost-1', ok: true, data: { recipients: 1 } });
    // A new request with a new id is handled as usual.
    expect(await bob2.ok('data.send', { to: a.peer.id, payload: 'twice' })).toEqual({ recipients: 1 });
    await alice.nextEvent('data', (e) => e.data.payload === 'twice');
    expect(alice.log.filter((e) => e.type === 'data' && e.data.payload === 'once')).toHaveLength(1);
    expect(bob2.stray).toEqual([]);
  });

  it('the window ends: the peer leaves with resume_expired and a late resume gets SESSION_EXPIRED (fake clock)', async () => {
    const clock = new FakeClock(Date.now());
    server = await startServer({ resume: { windowMs: 10_000 } }, { clock });
    const { alice, creds, bobId } = await bobDropped();
    clock.advance(9_999);
    await alice.ok('ping', {});
    expect(alice.log.some((e) => e.type === 'peer.left')).toBe(false);
    clock.advance(1);
    expect((await alice.nextEvent('peer.left')).data).toEqual({ peerId: bobId, reason: 'resume_expired' });
    const { answer } = await resume('bob', creds, 0);
    expect(answer).toMatchObject({ ok: false, error: { code: 'SESSION_EXPIRED' } });
  });

  it('a forged secret or another user’s token gets FORBIDDEN, and the owner can still resume', async () => {
    server = await startServer();
    const { creds, bobId, seen } = await bobDropped();

    expect((await resume('bob', creds, seen, `${creds.secret.slice(0, -2)}xx`)).answer).toMatchObject({ ok: false, error: { code: 'FORBIDDEN' } });
    expect((await resume('mallory', creds, seen)).answer).toMatchObject({ ok: false, error: { code: 'FORBIDDEN' } });
    expect((await resume('bob', { ...creds, session: 'SS_nonexistent' }, seen)).answer).toMatchObject({ ok: false, error: { code: 'SESSION_EXPIRED' } });
    const { answer } = await resume('bob', creds, seen);
    expect(answer).toMatchObject({ ok: true, data: { peer: { id: bobId } } });
  });

  it('more than a reconnecting session may keep ends it with resume_overflow; its resume gets SESSION_EXPIRED', async () => {
    server = await startServer({ resume: { maxEvents: 50 } });
    const { alice, creds, bobId } = await bobDropped();
    let refused = 0;
    for (let n = 0; n < 60; n++) {
      const res = await alice.request('signal.send', { to: bobId, signal: { n } });
      refused += res.ok ? 0 : 1;
    }
    expect((await alice.nextEvent('peer.left')).data).toEqual({ peerId: bobId, reason: 'resume_overflow' });
    expect(refused).toBeGreaterThan(0);
    const { answer } = await resume('bob', creds, 0);
    expect(answer).toMatchObject({ ok: false, error: { code: 'SESSION_EXPIRED' } });
  });

  it('a client that closes on purpose ends its session at once; resume only as the first request', async () => {
    server = await startServer();
    const alice = await open('alice');
    const bob = await open('bob');
    const creds = await credentials(bob);
    await alice.ok('room.join', { room: 'r' });
    const b = await bob.ok('room.join', { room: 'r' });
    await bob.close();
    expect((await alice.nextEvent('peer.left')).data).toEqual({ peerId: b.peer.id, reason: 'disconnected' });
    expect((await resume('bob', creds, 0)).answer).toMatchObject({ ok: false, error: { code: 'SESSION_EXPIRED' } });

    const late = await open('bob');
    await late.ok('ping', {});
    expect(await late.fail('session.resume', { session: creds.session, secret: creds.secret, lastSeq: 0 })).toMatchObject({ code: 'BAD_REQUEST' });
  });

  it('with resume off, session.ready carries no credentials and a drop is a leave', async () => {
    server = await startServer({ resume: { windowMs: 0 } });
    const alice = await open('alice');
    const bob = await open('bob');
    expect((await bob.nextEvent('session.ready')).data.resume).toBeUndefined();
    await alice.ok('room.join', { room: 'r' });
    const b = await bob.ok('room.join', { room: 'r' });
    bob.ws.terminate();
    expect((await alice.nextEvent('peer.left')).data).toEqual({ peerId: b.peer.id, reason: 'disconnected' });
  });
});
