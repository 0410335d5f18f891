import { beforeEach, describe, expect, it } from 'vitest';
import { FakeClock } from '@heliograph/common';
import { HeliographClient, type ConnectionState } from './client.js';
import { FakeWebSocket } from './test-support/fake-websocket.js';

const flush = () => new Promise((r) => setTimeout(r, 0));

function makeClient(options: Partial<ConstructorParameters<typeof HeliographClient>[0]> = {}) {
  const clock = new FakeClock(0);
  const client = new HeliographClient({
    url: 'ws://server/ws',
    token: 't0ken',
    WebSocket: FakeWebSocket,
    clock,
    random: () => 0,
    ...options,
  });
  const states: Array<[ConnectionState, number | undefined]> = [];
  client.on('state', (s, d) => states.push([s, d.code]));
  return { client, clock, states };
}

const last = () => FakeWebSocket.instances[FakeWebSocket.instances.length - 1]!;

/** The server goes away (1001); the client reconnects to a server that accepts it. */
async function reconnected(clock: FakeClock): Promise<void> {
  last().serverClose(1001);
  clock.advance(10_000);
  await flush();
  last().accept();
}

beforeEach(() => {
  FakeWebSocket.instances = [];
});

describe('HeliographClient requests', () => {
  it('connects with the token and resolves once the server says session.ready', async () => {
    const { client } = makeClient();
    const connected = client.connect();
    await flush();
    expect(last().url).toBe('ws://server/ws?token=t0ken');
    last().accept('alice');
    await connected;
    expect(client.state).toBe('open');
    expect(client.userId).toBe('alice');
  });

  it('rejects connect() with UNAUTHORIZED when the server closes with 4401, and does not retry', async () => {
    const { client, clock } = makeClient();
    const connected = client.connect();
    await flush();
    last().readyState = 1;
    last().serverClose(4401, 'token expired');
    await expect(connected).rejects.toMatchObject({ code: 'UNAUTHORIZED', message: 'token expired' });
    clock.advance(60_000);
    expect(FakeWebSocket.instances).toHaveLength(1);
  });

  it('settles requests by response, typed error, or TIMEOUT (fake clock)', async () => {
    const { client, clock } = makeClient({ requestTimeoutMs: 1000 });
    const connected = client.connect();
    await flush();
    last().accept();
    await connected;
    const ping = client.request('ping', {});
    const join = client.request('room.join', { room: 'r' });
    const slow = client.request('ping', {});
    const [p, j] = last().sent;
    last().reply(p!.id, { serverTime: 5 });
    last().push({ id: j!.id, ok: false, error: { code: 'ROOM_FULL', message: 'full' } });
    await expect(ping).resolves.toEqual({ serverTime: 5 });
    await expect(join).rejects.toMatchObject({ name: 'HeliographError', code: 'ROOM_FULL' });
    clock.advance(1000);
    await expect(slow).rejects.toMatchObject({ code: 'TIMEOUT' });
  });

  it('fails requests at once when not connected, and pending ones when the connection drops', async () => {
    const { client } = makeClient({ reconnect: false });
    await expect(client.request('ping', {})).rejects.toMatchObject({ code: 'UNAVAILABLE' });
    const connected = client.connect();
    await flush();
    last().accept();
    await connected;
    const pending = client.request('ping', {});
    last().serverClose(1006);
    await expect(pending).rejects.toMatchObject({ code: 'UNAVAILABLE' });
    expect(client.state).toBe('closed');
  });

  it('passes events to typed listeners', async () => {
    const { client } = makeClient();
    const seen: string[] = [];
    client.on('peer.joined', (e) => seen.push(e.peer.id));
    const connected = client.connect();
    await flush();
    last().accept();
    await connected;
    last().push({ type: 'peer.joined', seq: 2, data: { peer: { id: 'PR_b', userId: 'b', metadata: {}, joinedAt: 0 } } });
    expect(seen).toEqual(['PR_b']);
  });
});

describe('HeliographClient reconnects', () => {
  async function joined(options: Partial<ConstructorParameters<typeof HeliographClient>[0]> = {}) {
    const made = makeClient(options);
    const connected = made.client.connect();
    await flush();
    last().accept();
    await connected;
    const join = made.client.join({ room: 'r', name: 'Ann' });
    last().reply(last().sent[0]!.id, { peer: { id: 'PR_1', userId: 'u1', metadata: {}, joinedAt: 0 }, room: {}, peers: [], iceServers: [] });
    await join;
    return made;
  }

  it('backs off exponentially with jitter, then rejoins the room', async () => {
    const { client, clock, states } = await joined({
      random: () => 0.5,
      reconnect: { initialDelayMs: 100, maxDelayMs: 1000, factor: 2, jitter: 0.5 },
    });
    const rejoined: string[] = [];
    client.on('rejoined', (r) => rejoined.push(r.peer.id));

    last().serverClose(1006);
    expect(client.state).toBe('reconnecting');
    expect(clock.pendingDelays()).toEqual([75]); // 100 × (1 − 0.5 × 0.5)
    clock.advance(75);
    await flush();
    expect(FakeWebSocket.instances).toHaveLength(2);
    last().serverClose(1006); // the server is still down
    expect(clock.pendingDelays()).toEqual([150]);
    clock.advance(150);
    await flush();
    last().accept();
    expect(client.state).toBe('open');
    const rejoin = last().sent[0]!;
    expect(rejoin).toMatchObject({ type: 'room.join', data: { room: 'r', name: 'Ann' } });
    last().reply(rejoin.id, { peer: { id: 'PR_2', userId: 'u1', metadata: {}, joinedAt: 0 }, room: {}, peers: [], iceServers: [] });
    await flush();
    expect(rejoined).toEqual(['PR_2']);
    expect(client.peerId).toBe('PR_2');
    expect(states.map((s) => s[0])).toEqual(['connecting', 'open', 'reconnecting', 'reconnecting', 'reconnecting', 'reconnecting', 'open']);
  });

  it('keeps backing off from a node that refuses or drops it right after accepting, and starts over once a connection lasted', async () => {
    const { client, clock } = await joined({ random: () => 0, reconnect: { initialDelayMs: 100, maxDelayMs: 100_000, factor: 2, jitter: 0.5 } });
    const delays: number[] = [];
    client.on('state', (state, detail) => state === 'reconnecting' && detail.delayMs !== undefined && delays.push(detail.delayMs));
    const retry = async () => {
      clock.advance(clock.pendingDelays()[0]!);
      await flush();
    };
    last().serverClose(1006); // refused at the upgrade (HTTP 429/503): the browser sees 1006
    await retry();
    last().serverClose(4429, 'too many connections; retry in 1 s'); // the user's connection rate
    await retry();
    last().accept(); // accepted, then dropped a second later: not a lasting connection
    clock.advance(1000);
    last().serverClose(4429);
    await retry();
    last().accept();
    clock.advance(1000);
    last().serverClose(4508);
    expect(delays).toEqual([100, 200, 400, 800]);
    await retry();
    last().accept(); // this one lasts
    clock.advance(10_000);
    last().serverClose(1006);
    expect(delays).toEqual([100, 200, 400, 800, 100]);
  });

  it('caps the delay at maxDelayMs', async () => {
    const { clock } = await joined({ random: () => 0, reconnect: { initialDelayMs: 100, maxDelayMs: 300, factor: 10, jitter: 0.5 } });
    last().serverClose(1006);
    expect(clock.pendingDelays()).toEqual([100]);
    clock.advance(100);
    await flush();
    last().serverClose(1006);
    expect(clock.pendingDelays()).toEqual([300]);
  });

  it('does not reconnect after session.replaced (4409) or when reconnect is off', async () => {
    const { client, clock } = await joined();
    last().serverClose(4409, 'session replaced');
    expect(client.state).toBe('closed');
    clock.advance(60_000);
    expect(FakeWebSocket.instances).toHaveLength(1);

    FakeWebSocket.instances = [];
    const off = await joined({ reconnect: false });
    last().serverClose(1006);
    expect(off.client.state).toBe('closed');
  });

  it('reports a failed rejoin and forgets the room', async () => {
    const { client, clock } = await joined();
    const failures: string[] = [];
    client.on('rejoin.failed', (e) => failures.push(e.code));
    await reconnected(clock);
    last().push({ id: last().sent[0]!.id, ok: false, error: { code: 'ROOM_NOT_FOUND', message: 'gone' } });
    await flush();
    expect(failures).toEqual(['ROOM_NOT_FOUND']);
    expect(client.room).toBeUndefined();
  });

  it('tries a rejoin again while the node answers UNAVAILABLE (its cluster is away), then succeeds', async () => {
    const { client, clock } = await joined({ reconnect: { initialDelayMs: 100, jitter: 0 } });
    const rejoined: string[] = [];
    const failures: string[] = [];
    client.on('rejoined', (r) => rejoined.push(r.peer.id));
    client.on('rejoin.failed', (e) => failures.push(e.code));
    await reconnected(clock);
    await flush();
    last().push({ id: last().sent[0]!.id, ok: false, error: { code: 'UNAVAILABLE', message: 'cluster away' } });
    await flush();
    expect(last().sent).toHaveLength(1);
    clock.advance(100);
    await flush();
    const again = last().sent[1]!;
    expect(again).toMatchObject({ type: 'room.join', data: { room: 'r' } });
    last().reply(again.id, { peer: { id: 'PR_3', userId: 'u1', metadata: {}, joinedAt: 0 }, room: {}, peers: [], iceServers: [] });
    await flush();
    expect(rejoined).toEqual(['PR_3']);
    expect(failures).toEqual([]);
    expect(client.room).toBe('r');
  });

  it('gives a rejoin up after a few transient refusals', async () => {
    const { client, clock } = await joined({ reconnect: { initialDelayMs: 100, maxDelayMs: 100, jitter: 0 } });
    const failures: string[] = [];
    client.on('rejoin.failed', (e) => failures.push(e.code));
    await reconnected(clock);
    for (let i = 0; i < 5; i++) {
      await flush();
      last().push({ id: last().sent[i]!.id, ok: false, error: { code: 'UNAVAILABLE', message: 'cluster away' } });
      await flush();
      clock.advance(100);
    }
    await flush();
    expect(last().sent).toHaveLength(5);
    expect(failures).toEqual(['UNAVAILABLE']);
    expect(client.room).toBeUndefined();
  });

  it('asks a token provider for a fresh token on every connection', async () => {
    let n = 0;
    const { clock } = await joined({ token: () => `tok${++n}` });
    last().serverClose(1006);
    clock.advance(10_000);
    await flush();
    expect(FakeWebSocket.instances.map((w) => w.url)).toEqual(['ws://server/ws?token=tok1', 'ws://server/ws?token=tok2']);
  });

  it('close() ends it for good', async () => {
    const { client, clock } = await joined();
    client.close();
    expect(client.state).toBe('closed');
    clock.advance(60_000);
    expect(FakeWebSocket.instances).toHaveLength(1);
  });
});

describe('HeliographClient on server.draining', () => {
  it('leaves at a random moment within the window and reconnects, rejoining the room', async () => {
    const { client, clock } = makeClient({ random: () => 0.25, reconnect: { initialDelayMs: 100, jitter: 0 } });
    const connected = client.connect();
    await flush();
    last().accept();
    await connected;
    const join = client.join({ room: 'r' });
    last().reply(last().sent[0]!.id, { peer: { id: 'PR_1', userId: 'u1', metadata: {}, joinedAt: 0 }, room: {}, peers: [], iceServers: [] });
    await join;

    const draining = last();
    draining.push({ type: 'server.draining', seq: 3, data: { reason: 'deploy', deadline: 60_000, reconnectWithinMs: 4000 } });
    clock.advance(999);
    expect(client.state).toBe('open');
    clock.advance(1); // 0.25 × 4000
    expect(draining.readyState).toBe(3);
    expect(client.state).toBe('reconnecting');
    clock.advance(100);
    await flush();
    expect(FakeWebSocket.instances).toHaveLength(2);
    last().accept();
    expect(last().sent[0]).toMatchObject({ type: 'room.join', data: { room: 'r' } });
  });
});
