import { beforeEach, describe, expect, it } from 'vitest';
import { FakeClock } from '@heliograph/common';
import { HeliographClient, type ConnectionState, type StateDetail } from './client.js';
import { FakeWebSocket } from './test-support/fake-websocket.js';

/**
 * Session resume (the protocol's `session.resume` / `session.ack`) against a scripted server:
 * the test plays the server, with the fake clock for backoff, ack pacing and the resume window.
 */

const flush = () => new Promise((r) => setTimeout(r, 0));
const last = () => FakeWebSocket.instances[FakeWebSocket.instances.length - 1]!;
const S1 = { session: 'SE_1', secret: 'secret-1', windowMs: 30_000 };
const S2 = { session: 'SE_2', secret: 'secret-2', windowMs: 30_000 };
const peer = (id: string) => ({ id, userId: 'u1', metadata: {}, joinedAt: 0 });
const joinResult = (id: string) => ({ peer: peer(id), room: {}, peers: [], iceServers: [] });

beforeEach(() => {
  FakeWebSocket.instances = [];
});

/** A client connected to a server that offers resume (`S1`), in room `r` as `PR_1`. */
async function joined(options: Partial<ConstructorParameters<typeof HeliographClient>[0]> = {}) {
  const clock = new FakeClock(0);
  const client = new HeliographClient({
    url: 'ws://server/ws',
    token: 't0ken',
    WebSocket: FakeWebSocket,
    clock,
    random: () => 0,
    reconnect: { initialDelayMs: 100, factor: 1, jitter: 0 },
    ...options,
  });
  const log: string[] = [];
  const states: Array<[ConnectionState, StateDetail]> = [];
  client.on('state', (s, d) => states.push([s, d]));
  client.on('resumed', (r) => log.push(`resumed ${r.replayed}`));
  client.on('rejoined', (r) => log.push(`rejoined ${r.peer.id}`));
  client.on('session.ready', (r) => log.push(`session.ready ${JSON.stringify(r)}`));
  for (const type of ['peer.joined', 'peer.left', 'data'] as const) {
    client.on(type, (e) => log.push(`${type} ${JSON.stringify(e)}`));
  }
  const connected = client.connect();
  await flush();
  last().accept('u1', S1);
  await connected;
  const join = client.join({ room: 'r', name: 'Ann' });
  last().reply(last().sent[0]!.id, joinResult('PR_1'));
  await join;
  log.length = 0;
  return { client, clock, log, states };
}

/** Waits out the reconnect delay; the next connection is accepted with `fresh` credentials. */
async function reconnect(clock: FakeClock, fresh = S2): Promise<FakeWebSocket> {
  clock.advance(100);
  await flush();
  last().accept('u1', fresh);
  return last();
}

const data = (n: number) => ({ from: 'PR_2', payload: { n } });

describe('HeliographClient session resume', () => {
  it('resumes after a drop: replayed events once each in order, in-flight requests re-sent with their ids, then resumed', async () => {
    const { client, clock, log, states } = await joined();
    const first = last();
    first.event('data', data(1)); // seq 2
    first.event('data', data(2)); // seq 3
    log.length = 0;
    const send = client.request('data.send', { to: 'PR_2', payload: 'x' });
    const ping = client.request('ping', {});
    const [sendFrame, pingFrame] = first.sent.slice(1);
    let settled = 0;
    void send.finally(() => settled++);
    void ping.finally(() => settled++);

    first.serverClose(1006);
    await flush();
    expect(settled).toBe(0); // they wait for the resume
    expect(client.state).toBe('reconnecting');
    expect(states.at(-1)![1]).toMatchObject({ code: 1006, resumable: true });
    expect(client.peerId).toBe('PR_1');

    const second = await reconnect(clock);
    // The resume is the first request; the connection's own session.ready is not the app's business.
    expect(second.sent).toEqual([{ id: expect.any(Number), type: 'session.resume', data: { session: 'SE_1', secret: 'secret-1', lastSeq: 3 } }]);
    expect(client.state).toBe('reconnecting');
    await expect(client.request('ping', {})).rejects.toMatchObject({ code: 'UNAVAILABLE' });

    second.reply(second.sent[0]!.id, { replayed: 3, peer: peer('PR_1') });
    // Re-sent at once, the same frames with the same ids.
    expect(second.sent.slice(1)).toEqual([sendFrame, pingFrame]);
    expect(states.at(-1)).toEqual(['open', { resumed: true }]);
    second.event('data', data(2), 3); // already processed before the drop: dropped
    second.event('data', data(3), 4);
    expect(log).toEqual([`data ${JSON.stringify(data(3))}`]);
    second.event('data', data(4), 5);
    expect(log.slice(1)).toEqual([`data ${JSON.stringify(data(4))}`, 'resumed 3']);

    second.reply(sendFrame!.id, { recipients: 1 });
    second.reply(pingFrame!.id, { serverTime: 7 });
    second.reply(pingFrame!.id, { serverTime: 8 }); // a second answer to one id is ignored
    await expect(send).resolves.toEqual({ recipients: 1 });
    await expect(ping).resolves.toEqual({ serverTime: 7 });
    expect(client.peerId).toBe('PR_1');
    expect(client.room).toBe('r');

    // Live events continue the session's numbering; the next drop resumes from the last one.
    second.event('data', data(5), 6);
    second.serverClose(4408); // the server's ping timeout
    const third = await reconnect(clock, { ...S2, session: 'SE_3' });
    expect(third.sent[0]).toMatchObject({ type: 'session.resume', data: { session: 'SE_1', lastSeq: 6 } });
    third.reply(third.sent[0]!.id, { replayed: 0 });
    expect(log.at(-1)).toBe('resumed 0');
    expect(log.filter((l) => /peer\.|rejoined|session\.ready/.test(l))).toEqual([]);
  });

  it('never shows the resume secret to listeners', async () => {
    const clock = new FakeClock(0);
    const client = new HeliographClient({ url: 'ws://server/ws', token: 't', WebSocket: FakeWebSocket, clock });
    const seen: unknown[] = [];
    client.on('session.ready', (r) => seen.push(r));
    const connected = client.connect();
    await flush();
    last().accept('u1', S1);
    await connected;
    expect(seen).toEqual([{ userId: 'u1', protocol: 1, serverTime: 0 }]);
  });

  it.each(['SESSION_EXPIRED', 'FORBIDDEN'] as const)('falls back to a fresh room.join on %s; requests of the lost session fail', async (code) => {
    const { client, clock, log, states } = await joined();
    const pending = client.request('ping', {});
    last().serverClose(1006);
    const second = await reconnect(clock);
    second.event('data', data(9)); // seq 2 of the new connection's own session, before the answer
    second.push({ id: second.sent[0]!.id, ok: false, error: { code, message: 'no' } });
    await expect(pending).rejects.toMatchObject({ code: 'UNAVAILABLE', message: `the session was lost (${code}: no)` });
    expect(client.peerId).toBeUndefined();
    expect(states.at(-1)).toEqual(['open', {}]);
    const rejoin = second.sent[1]!;
    expect(rejoin).toMatchObject({ type: 'room.join', data: { room: 'r', name: 'Ann' } });
    expect(second.sent).toHaveLength(2); // the lost request is not re-sent
    second.reply(rejoin.id, joinResult('PR_2'));
    await flush();
    expect(log.filter((l) => !l.startsWith('data'))).toEqual([
      `session.ready ${JSON.stringify({ userId: 'u1', protocol: 1, serverTime: 0 })}`,
      'rejoined PR_2',
    ]);
    expect(client.peerId).toBe('PR_2');

    // The new connection's session is the one resumed after the next drop.
    second.serverClose(1006);
    const third = await reconnect(clock, { ...S2, session: 'SE_3' });
    expect(third.sent[0]).toMatchObject({ type: 'session.resume', data: { session: 'SE_2', secret: 'secret-2', lastSeq: 2 } });
  });

  it('does not resume after a close the session does not survive: 4409, 4508, the app closing', async () => {
    const replaced = await joined();
    const pending = replaced.client.request('ping', {});
    last().serverClose(4409, 'session replaced');
    await expect(pending).rejects.toMatchObject({ code: 'UNAVAILABLE' });
    expect(replaced.client.state).toBe('closed');
    replaced.clock.advance(60_000);
    expect(FakeWebSocket.instances).toHaveLength(1);

    FakeWebSocket.instances = [];
    const slow = await joined();
    const lost = slow.client.request('ping', {});
    last().serverClose(4508);
    await expect(lost).rejects.toMatchObject({ code: 'UNAVAILABLE', message: 'connection lost (4508)' });
    expect(slow.states.at(-1)![1]).toMatchObject({ code: 4508, resumable: false });
    const next = await reconnect(slow.clock);
    expect(next.sent.map((f) => f.type)).toEqual(['room.join']);

    FakeWebSocket.instances = [];
    const closing = await joined();
    const cut = closing.client.request('ping', {});
    const socket = last();
    closing.client.close();
    await expect(cut).rejects.toMatchObject({ code: 'UNAVAILABLE' });
    expect(socket.readyState).toBe(3);
    const again = closing.client.connect();
    await flush();
    last().accept('u1', S2);
    await again;
    expect(last().sent).toEqual([]); // a new session, nothing to resume
  });

  it('gives the session up when its window ends before a connection succeeds', async () => {
    const { client, clock, states } = await joined({ reconnect: { initialDelayMs: 10_000, maxDelayMs: 10_000, jitter: 0 } });
    const pending = client.request('ping', {}, 60_000);
    last().serverClose(1006);
    for (let i = 0; i < 2; i++) {
      clock.advance(10_000);
      await flush();
      last().serverClose(1006); // the server is still unreachable
    }
    await flush();
    expect(client.peerId).toBe('PR_1');
    clock.advance(10_000); // 30 s after the drop: the window is over
    await expect(pending).rejects.toMatchObject({ code: 'UNAVAILABLE', message: 'the session was lost (not resumed within its window)' });
    expect(states.some(([s, d]) => s === 'reconnecting' && d.resumable === false)).toBe(true);
    await flush();
    last().accept('u1', S2);
    expect(last().sent.map((f) => f.type)).toEqual(['room.join']);
  });

  it('tries the resume again on the next connection when one drops before the answer, or gets none', async () => {
    const { client, clock } = await joined({ requestTimeoutMs: 5000 });
    last().event('data', data(1));
    const pending = client.request('ping', {}, 60_000);
    last().serverClose(1006);
    const second = await reconnect(clock);
    second.serverClose(1006); // before answering the resume
    const third = await reconnect(clock);
    clock.advance(5000); // no answer at all
    await flush();
    expect(third.readyState).toBe(3);
    const fourth = await reconnect(clock);
    const resumes = [second, third, fourth].map((ws) => ws.sent[0]);
    expect(resumes.map((f) => f!.data)).toEqual(Array(3).fill({ session: 'SE_1', secret: 'secret-1', lastSeq: 2 }));
    fourth.reply(fourth.sent[0]!.id, { replayed: 0 });
    const resent = fourth.sent[1]!;
    expect(resent.type).toBe('ping');
    fourth.reply(resent.id, { serverTime: 1 });
    await expect(pending).resolves.toEqual({ serverTime: 1 });
  });

  it('never repeats a request id, across drops, resumes and rejoins', async () => {
    const { client, clock } = await joined();
    client.request('ping', {}).catch(() => undefined);
    last().serverClose(1006);
    let ws = await reconnect(clock);
    ws.reply(ws.sent[0]!.id, { replayed: 0 });
    client.request('ping', {}).catch(() => undefined);
    ws.serverClose(1006);
    ws = await reconnect(clock, { ...S2, session: 'SE_3' });
    ws.push({ id: ws.sent[0]!.id, ok: false, error: { code: 'SESSION_EXPIRED', message: 'gone' } });
    client.request('ping', {}).catch(() => undefined);
    const all = FakeWebSocket.instances.flatMap((w) => w.sent);
    const distinct = new Map(all.map((f) => [f.id, JSON.stringify(f)]));
    // Every id names one request; the only repeat of an id is the same frame, re-sent after a resume.
    expect(all.every((f) => distinct.get(f.id) === JSON.stringify(f))).toBe(true);
    expect([...distinct.keys()]).toEqual([...distinct.keys()].sort((a, b) => a - b));
    // join, ping, resume, (ping again), ping, resume, room.join, ping
    expect(distinct.size).toBe(7);
  });
});

describe('HeliographClient session.ack', () => {
  it('acks at most once a second, only when events arrived since the last ack', async () => {
    const { clock } = await joined();
    const ws = last();
    const acks = () => ws.sentOf('session.ack').map((f) => (f.data as { seq: number }).seq);
    clock.advance(5000);
    expect(acks()).toEqual([]); // nothing but session.ready: nothing to ack

    for (let i = 0; i < 5; i++) {
      ws.event('data', data(i)); // seq 2..6, at once
    }
    clock.advance(999);
    expect(acks()).toEqual([]);
    clock.advance(1);
    expect(acks()).toEqual([6]);
    clock.advance(10_000);
    expect(acks()).toEqual([6]); // quiet: no ack

    for (let i = 0; i < 30; i++) {
      ws.event('data', data(i)); // seq 7..36, one every 100 ms for 3 s
      clock.advance(100);
    }
    clock.advance(2000);
    expect(acks()).toEqual([6, 16, 26, 36]);
    for (const ack of ws.sentOf('session.ack')) {
      ws.reply(ack.id, {});
    }
  });

  it('does not ack when the server offers no resume', async () => {
    const clock = new FakeClock(0);
    const client = new HeliographClient({ url: 'ws://server/ws', token: 't', WebSocket: FakeWebSocket, clock });
    const connected = client.connect();
    await flush();
    last().accept();
    await connected;
    last().event('data', data(1));
    clock.advance(5000);
    expect(last().sent).toEqual([]);
  });

  it('stops acking while disconnected and acks the replay after a resume', async () => {
    const { clock } = await joined();
    last().event('data', data(1)); // seq 2
    last().serverClose(1006);
    clock.advance(50);
    const ws = await reconnect(clock);
    expect(ws.sentOf('session.resume')[0]!.data).toMatchObject({ lastSeq: 2 });
    ws.reply(ws.sent[0]!.id, { replayed: 1 });
    ws.event('data', data(2), 3);
    clock.advance(1000);
    expect(ws.sentOf('session.ack').map((f) => f.data)).toEqual([{ seq: 3 }]);
    expect(FakeWebSocket.instances[0]!.sentOf('session.ack')).toEqual([]);
  });
});
