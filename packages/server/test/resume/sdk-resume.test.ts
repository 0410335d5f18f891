import { HeliographClient, type ClientEvents } from '@heliograph/client';
import { afterEach, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import { TestClient } from '../helpers/client.js';
import { startServer, type TestServer } from '../helpers/server.js';

/**
 * The SDK's side of session resume against a real server: its socket is cut (a reset, no close
 * frame), the room goes on meanwhile, and the SDK resumes on its own: `resumed`, every event it
 * missed once and in order, its request in flight answered once, and no peer.left anywhere.
 */
let server: TestServer;
const closers: Array<() => unknown> = [];
afterEach(async () => {
  await Promise.all(closers.splice(0).map((close) => close()));
  await server?.close();
});

/** `ws`'s WebSocket, keeping every socket the SDK opens so that the test can cut one. */
const sockets: WebSocket[] = [];
class TrackedWebSocket extends WebSocket {
  constructor(url: string) {
    super(url);
    sockets.push(this);
  }
}

async function open(user: string): Promise<TestClient> {
  const client = await TestClient.open(server.wsUrl, await server.token(user));
  closers.push(() => client.close());
  return client;
}

describe('the SDK resumes a cut session', () => {
  it('emits resumed, delivers what it missed once and in order, and re-sends its request in flight', async () => {
    server = await startServer();
    // Every connection after the first waits for the test: the room moves on while bob is away.
    let release: () => void = () => undefined;
    const away = new Promise<void>((resolve) => (release = resolve));
    let tokens = 0;
    const bobToken = await server.token('bob');
    const bob = new HeliographClient({
      url: server.wsUrl,
      token: async () => {
        if (tokens++ > 0) {
          await away;
        }
        return bobToken;
      },
      WebSocket: TrackedWebSocket,
      reconnect: { initialDelayMs: 10, jitter: 0 },
    });
    closers.push(() => bob.close());
    const seen: string[] = [];
    const record = <K extends keyof ClientEvents>(type: K, show: (...args: ClientEvents[K]) => string) =>
      bob.on(type, ((...args: ClientEvents[K]) => seen.push(`${type} ${show(...args)}`)) as never);
    record('signal', (e) => JSON.stringify(e.signal));
    record('data', (e) => JSON.stringify(e.payload));
    record('peer.joined', (e) => e.peer.userId);
    record('peer.updated', (e) => e.peer.userId);
    record('peer.left', (e) => e.reason);
    record('rejoined', () => '');
    const resumed = new Promise<ClientEvents['resumed'][0]>((resolve) => bob.once('resumed', resolve));

    const alice = await open('alice');
    const a = await alice.ok('room.join', { room: 'r' });
    await bob.connect();
    const b = await bob.join({ room: 'r' });
    await alice.nextEvent('peer.joined');

    // A request goes out, and the socket is reset under it: whether the server got it or not,
    // the SDK re-sends it after the resume and it is applied once.
    const inFlight = bob.request('data.send', { to: a.peer.id, payload: 'in flight' });
    sockets.at(-1)!.terminate();
    await alice.nextEvent('peer.reconnecting', (e) => e.data.peerId === b.peer.id);
    expect(bob.state).toBe('reconnecting');

    for (let n = 0; n < 20; n++) {
      expect(await alice.ok('signal.send', { to: b.peer.id, signal: { n } })).toEqual({ queued: true });
    }
    const carol = await open('carol');
    await carol.ok('room.join', { room: 'r' });
    await carol.ok('peer.update', { metadata: { mood: 'curious' } });
    await carol.ok('room.leave', {});
    await alice.ok('data.send', { payload: 'to everyone' });
    release();

    const { replayed } = await resumed;
    expect(replayed).toBe(24);
    expect(seen).toEqual([
      ...Array.from({ length: 20 }, (_, n) => `signal ${JSON.stringify({ n })}`),
      'peer.joined carol',
      'peer.updated carol',
      'peer.left left',
      'data "to everyone"',
    ]);
    expect(await inFlight).toEqual({ recipients: 1 });
    expect(bob.peerId).toBe(b.peer.id);
    expect(bob.state).toBe('open');
    await alice.nextEvent('peer.reconnected', (e) => e.data.peerId === b.peer.id);

    // Live traffic goes on in the same session; alice got the request in flight exactly once.
    const back = new Promise((resolve) => bob.once('signal', (e) => resolve(e.signal)));
    await alice.ok('signal.send', { to: b.peer.id, signal: 'live' });
    expect(await back).toBe('live');
    await alice.ok('ping', {});
    expect(alice.log.filter((e) => e.type === 'data' && e.data.payload === 'in flight')).toHaveLength(1);
    expect(alice.log.filter((e) => e.type === 'peer.left' && e.data.peerId === b.peer.id)).toEqual([]);
    expect(sockets).toHaveLength(2);
  });
});
