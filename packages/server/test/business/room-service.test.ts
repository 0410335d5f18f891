import { afterEach, describe, expect, it } from 'vitest';
import { FakeClock } from '@heliograph/common';
import { HOOK_SECRET, TestBackend } from '../helpers/business-backend.js';
import { TestClient } from '../helpers/client.js';
import { startServer, TEST_SECRET, type TestServer } from '../helpers/server.js';
import { eventually, untilEvent } from '../helpers/wait.js';

let server: TestServer | undefined;
let backend: TestBackend | undefined;
const clients: TestClient[] = [];
afterEach(async () => {
  await Promise.all(clients.splice(0).map((c) => c.close()));
  await server?.close();
  await backend?.stop().catch(() => undefined);
  server = undefined;
  backend = undefined;
});

type Decide = ConstructorParameters<typeof TestBackend>[0]['decide'];

/** Room service answers held back until the test releases them (all allow). */
function heldAnswers() {
  const held: Array<() => void> = [];
  let arrived: () => void = () => undefined;
  return {
    answer: () => new Promise<{ allow: boolean }>((resolve) => (held.push(() => resolve({ allow: true })), arrived())),
    /** Resolves once `count` callouts wait for their answer: on their arrival, not on a polling pace. */
    asked: (count: number) =>
      untilEvent(
        (listener) => ((arrived = listener), () => (arrived = () => undefined)),
        () => held.length >= count,
        5000,
        `${count} callouts`,
      ),
    release: () => held.splice(0).forEach((answer) => answer()),
  };
}

async function setUp(decide: Decide, roomService: Record<string, unknown> = {}, clock?: FakeClock) {
  backend = await new TestBackend({ jwtSecret: TEST_SECRET, decide }).start();
  server = await startServer({ roomService: { url: backend.roomServiceUrl, secret: HOOK_SECRET, ...roomService } }, clock ? { clock } : {});
  return { backend, server };
}

async function connect(s: TestServer, user: string): Promise<TestClient> {
  const client = await TestClient.open(s.wsUrl, await s.token(user));
  clients.push(client);
  await client.nextEvent('session.ready');
  return client;
}

describe('room service callout', () => {
  it('asks before creating and before joining, and applies the metadata and permissions it returns', async () => {
    const { backend, server } = await setUp((r) =>
      r.action === 'room.create'
        ? { allow: true, metadata: { plan: 'gold' } }
        : { allow: true, metadata: { role: r.user.id === 'ada' ? 'host' : 'guest' }, permissions: { data: r.user.id === 'ada' } },
    );
    const ada = await connect(server, 'ada');
    const joined = await ada.ok('room.join', { room: 'call-1', metadata: { mood: 'fine', role: 'self-declared' }, create: { metadata: { topic: 'x' } } });
    expect(backend.callouts.map((c) => c.action).sort()).toEqual(['room.create', 'room.join']);
    expect(backend.callouts.find((c) => c.action === 'room.join')).toEqual({
      action: 'room.join',
      user: { id: 'ada' },
      room: 'call-1',
      metadata: { mood: 'fine', role: 'self-declared' },
    });
    // The backend's word wins over the client's.
    expect(joined.peer.metadata).toEqual({ mood: 'fine', role: 'host' });
    expect(joined.room.metadata).toEqual({ topic: 'x', plan: 'gold' });

    const bob = await connect(server, 'bob');
    await bob.ok('room.join', { room: 'call-1' });
    expect(backend.callouts.filter((c) => c.action === 'room.create')).toHaveLength(1);
    // bob may not send data (permissions from the callout), ada may.
    expect(await bob.fail('data.send', { payload: 1 })).toMatchObject({ code: 'FORBIDDEN' });
    expect(await ada.ok('data.send', { payload: 1 })).toEqual({ recipients: 1 });
    expect(server.app.rooms.get('call-1')?.byUser.get('bob')?.permissions).toEqual({ signal: true, data: false, update: true });
  });

  it('a refusal is FORBIDDEN with the reason, and nothing is created', async () => {
    const { server } = await setUp((r) => (r.action === 'room.join' ? { allow: false, reason: 'not on the guest list' } : { allow: true }));
    const eve = await connect(server, 'eve');
    expect(await eve.fail('room.join', { room: 'party' })).toEqual({ code: 'FORBIDDEN', message: 'not on the guest list' });
    expect(server.app.rooms.get('party')).toBeUndefined();
    // The connection is still usable.
    expect(await eve.ok('ping', {})).toHaveProperty('serverTime');
  });

  it('does not ask about what the token cannot do', async () => {
    const { backend, server } = await setUp(() => ({ allow: true }));
    const client = await TestClient.open(server.wsUrl, await server.token('joe', [{ room: 'mine', join: true }]));
    clients.push(client);
    expect(await client.fail('room.join', { room: 'other' })).toMatchObject({ code: 'FORBIDDEN' });
    expect(await client.fail('room.join', { room: 'mine' })).toMatchObject({ code: 'ROOM_NOT_FOUND' });
    expect(backend.callouts).toEqual([]);
  });

  it('fails closed on a 5xx, or lets the join through when configured to fail open', async () => {
    const { server } = await setUp(() => {
      throw new Error('database down');
    });
    const ada = await connect(server, 'ada');
    expect(await ada.fail('room.join', { room: 'r' })).toEqual({ code: 'UNAVAILABLE', message: 'The room service did not answer (http_error)' });
    const text = await server.app.metrics.getSingleMetricAsString('heliograph_room_service_request_duration_seconds');
    expect(text).toMatch(/_count\{action="room\.(join|create)",outcome="http_error"\} 1/);
    await server.close();
    await backend?.stop();

    const open = await setUp(
      () => {
        throw new Error('database down');
      },
      { failOpen: true },
    );
    const bob = await connect(open.server, 'bob');
    expect((await bob.ok('room.join', { room: 'r' })).peer.userId).toBe('bob');
  });

  it('treats a reply signed with the wrong secret, or not signed, as a failure when replies are verified', async () => {
    const { server } = await setUp(() => ({ allow: true }), { verifyReplies: true });
    const ada = await connect(server, 'ada');
    // The sample backend does not sign its replies.
    expect(await ada.fail('room.join', { room: 'r' })).toEqual({ code: 'UNAVAILABLE', message: 'The room service did not answer (bad_reply)' });
  });

  it('treats a reply nesting deeper than limits.maxDepth as a failure, so its metadata is never stored', async () => {
    let deep: unknown = {};
    for (let i = 0; i < 40; i++) {
      deep = [deep];
    }
    const { server } = await setUp(() => ({ allow: true, metadata: { deep } }));
    const ada = await connect(server, 'ada');
    expect(await ada.fail('room.join', { room: 'r' })).toEqual({ code: 'UNAVAILABLE', message: 'The room service did not answer (bad_reply)' });
    expect(server.app.rooms.get('r')).toBeUndefined();
  });

  it('a request signed with another secret is refused by the backend (so the join fails closed)', async () => {
    backend = await new TestBackend({ jwtSecret: TEST_SECRET, hookSecret: 'another-secret-entirely-0123' }).start();
    server = await startServer({ roomService: { url: backend.roomServiceUrl, secret: HOOK_SECRET } });
    const ada = await connect(server, 'ada');
    expect(await ada.fail('room.join', { room: 'r' })).toMatchObject({ code: 'UNAVAILABLE' });
    expect(backend.callouts).toEqual([]);
  });

  it('times out after roomService.timeoutMs (fake time) and refuses; the late answer admits nobody', async () => {
    const held = heldAnswers();
    const clock = new FakeClock(Date.now());
    const { server } = await setUp(() => held.answer(), { timeoutMs: 2000 }, clock);
    const ada = await connect(server, 'ada');
    const answer = ada.request('room.join', { room: 'slow' });
    await held.asked(2);
    clock.advance(1999);
    clock.advance(1);
    const res = await answer;
    expect(res).toMatchObject({ ok: false, error: { code: 'UNAVAILABLE', message: 'The room service did not answer (timeout)' } });
    held.release();
    expect(server.app.rooms.get('slow')).toBeUndefined();
  });

  it('refuses a second room.join while one is waiting for the room service', async () => {
    const held = heldAnswers();
    const { backend, server } = await setUp((r) => (r.action === 'room.join' ? held.answer() : { allow: true }));
    const ada = await connect(server, 'ada');
    const first = ada.request('room.join', { room: 'r1' });
    await held.asked(1);
    expect(await ada.fail('room.join', { room: 'r2' })).toEqual({
      code: 'CONFLICT',
      message: 'A room.join is already in progress on this connection',
    });
    held.release();
    expect(await first).toMatchObject({ ok: true, data: { room: { id: 'r1' } } });
    expect(await ada.fail('room.join', { room: 'r2' })).toMatchObject({ code: 'ALREADY_IN_ROOM' });
    expect(backend.callouts.filter((c) => c.room === 'r2')).toEqual([]);
  });

  it('a client that goes away while its join is pending never becomes a peer', async () => {
    const held = heldAnswers();
    const { server } = await setUp((r) => (r.action === 'room.join' && r.user.id === 'ada' ? held.answer() : { allow: true }));
    const ada = await connect(server, 'ada');
    void ada.request('room.join', { room: 'ghost' });
    await held.asked(1);
    await ada.close();
    // The server must have seen the close first; the guard is for answers that come after it.
    const connections = () => server.app.metrics.getSingleMetricAsString('heliograph_connections');
    await eventually(async () => /^heliograph_connections 0$/m.test(await connections()), 5000, 'the server to see the close');
    held.release();
    const bob = await connect(server, 'bob');
    const joined = await bob.ok('room.join', { room: 'ghost' });
    expect(joined.peers).toEqual([]);
  });

  it('caches answers per action, user and room for cacheTtlMs', async () => {
    const clock = new FakeClock(Date.now());
    const { backend, server } = await setUp(() => ({ allow: true }), { cacheTtlMs: 10_000 }, clock);
    const ada = await connect(server, 'ada');
    await ada.ok('room.join', { room: 'c' });
    await ada.ok('room.leave', {});
    await ada.ok('room.join', { room: 'c' });
    expect(backend.callouts.filter((c) => c.action === 'room.join')).toHaveLength(1);
    await ada.ok('room.leave', {});
    clock.advance(10_001);
    await ada.ok('room.join', { room: 'c' });
    expect(backend.callouts.filter((c) => c.action === 'room.join')).toHaveLength(2);
  });
});
