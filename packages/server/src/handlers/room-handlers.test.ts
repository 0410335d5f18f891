import { describe, expect, it } from 'vitest';
import type { IceServer, RequestData } from '@heliograph/protocol';
import type { RoomServiceReply, RoomServiceRequest } from '../room-service/room-service-client.js';
import type { RoomMembership } from '../rooms/room-membership.js';
import { LocalMembership } from '../rooms/room-membership.js';
import type { JoinRequest, JoinResult } from '../rooms/rooms.js';
import { AppError } from '../shared/app-error.js';
import { fakeSession, roomsOnFakeTime, type FakeSession } from '../test-support/room-fixtures.js';
import { roomHandlers, type RoomServiceGate } from './room-handlers.js';

const code = (c: string) => expect.objectContaining({ code: c });
const ICE: IceServer[] = [{ urls: 'stun:example.test' }];
/** Lets every promise already settled run its callbacks (no time passes). */
const settle = () => new Promise((resolve) => setImmediate(resolve));

/** A room service whose answers the test gives, one question at a time. */
class FakeGate implements RoomServiceGate {
  readonly asked: Array<{ request: RoomServiceRequest; answer: (reply: RoomServiceReply) => void; fail: (err: Error) => void }> = [];

  check(request: RoomServiceRequest): Promise<RoomServiceReply> {
    return new Promise((answer, fail) => this.asked.push({ request, answer, fail }));
  }

  actions(): string[] {
    return this.asked.map((q) => `${q.request.action} ${q.request.room}`);
  }

  /** Answers every question asked and not yet answered. */
  answerAll(reply: (request: RoomServiceRequest) => RoomServiceReply): void {
    for (const q of this.asked.splice(0)) {
      q.answer(reply(q.request));
    }
  }

  /** Lets the questions of a pending join arrive, allows them all, and resolves with its answer. */
  async allow<T>(pending: T | Promise<T>): Promise<T> {
    await settle();
    this.answerAll(() => ({ allow: true }));
    return pending;
  }
}

function setup(options: { gate?: FakeGate; membership?: (local: LocalMembership) => RoomMembership } = {}) {
  const { rooms, clock } = roomsOnFakeTime();
  const local = new LocalMembership(rooms);
  const membership = options.membership?.(local) ?? local;
  const iceFor: string[] = [];
  const handlers = roomHandlers({ rooms, membership, iceServers: (userId) => (iceFor.push(userId), ICE), roomService: options.gate });
  const join = (session: FakeSession, data: RequestData<'room.join'>) => handlers['room.join'](session, data);
  return { rooms, clock, handlers, join, iceFor };
}

describe('room.join without a room service', () => {
  it('joins synchronously and answers with the peer, the room, the others and the ICE servers', () => {
    const { join, iceFor, rooms } = setup();
    const alice = fakeSession('alice');
    void join(alice, { room: 'r', name: 'Alice' });
    const bob = fakeSession('bob');
    const answer = join(bob, { room: 'r', metadata: { k: 1 } });
    expect(answer).not.toBeInstanceOf(Promise);
    expect(answer).toEqual({ peer: bob.peer!.info(), room: rooms.get('r')!.info(), peers: [alice.peer!.info()], iceServers: ICE });
    expect(bob.peer!.info()).toMatchObject({ userId: 'bob', metadata: { k: 1 } });
    expect(iceFor).toEqual(['alice', 'bob']);
  });

  it('refuses a second join on the same connection with ALREADY_IN_ROOM', () => {
    const { join } = setup();
    const alice = fakeSession('alice');
    void join(alice, { room: 'r' });
    expect(() => join(alice, { room: 's' })).toThrow(code('ALREADY_IN_ROOM'));
  });

  it('through an asynchronous membership: CONFLICT while one is under way, and the join is told when the connection closed', async () => {
    let release: () => void = () => undefined;
    let cancelled: (() => boolean) | undefined;
    const { join } = setup({
      membership: (local) => ({
        catalog: local.catalog,
        exists: (roomId) => local.exists(roomId),
        join: (req: JoinRequest, isCancelled: () => boolean) => {
          cancelled = isCancelled;
          return new Promise<JoinResult>((resolve) => (release = () => resolve(local.join(req))));
        },
      }),
    });
    const alice = fakeSession('alice');
    const first = join(alice, { room: 'r' });
    expect(() => join(alice, { room: 'r' })).toThrow(code('CONFLICT'));
    expect(cancelled!()).toBe(false);
    alice.closing = true;
    expect(cancelled!()).toBe(true);
    alice.closing = false;
    release();
    expect(await first).toMatchObject({ peer: { userId: 'alice' } });
    expect(alice.peer).toBeDefined();
  });
});

describe('room.join through the room service', () => {
  it('asks to create and to join when the room does not exist, and applies what it answered', async () => {
    const gate = new FakeGate();
    const { join, rooms } = setup({ gate });
    const alice = fakeSession('alice');
    const answer = join(alice, { room: 'r', name: 'Alice', metadata: { a: 1 }, create: { metadata: { topic: 't' } } });
    await settle();
    expect(gate.asked.map((q) => q.request)).toEqual([
      { action: 'room.create', user: { id: 'alice', name: 'Alice' }, room: 'r', metadata: { topic: 't' } },
      { action: 'room.join', user: { id: 'alice', name: 'Alice' }, room: 'r', metadata: { a: 1 } },
    ]);
    gate.answerAll((req) =>
      req.action === 'room.create' ? { allow: true, metadata: { owner: 'alice' } } : { allow: true, metadata: { role: 'host' }, permissions: { data: false } },
    );
    expect(await answer).toMatchObject({ peer: { metadata: { a: 1, role: 'host' } }, room: { metadata: { topic: 't', owner: 'alice' } } });
    expect(alice.peer!.permissions).toEqual({ signal: true, data: false, update: true });
    expect(rooms.get('r')!.metadata).toEqual({ topic: 't', owner: 'alice' });
  });

  it('asks only to join a room that exists', async () => {
    const gate = new FakeGate();
    const { join } = setup({ gate });
    await gate.allow(join(fakeSession('alice'), { room: 'r' }));
    const bob = join(fakeSession('bob'), { room: 'r' });
    await settle();
    expect(gate.actions()).toEqual(['room.join r']);
    expect(await gate.allow(bob)).toMatchObject({ peer: { userId: 'bob' } });
  });

  it("refuses with FORBIDDEN and the service's reason, for the join or for the creation", async () => {
    const gate = new FakeGate();
    const { join, rooms } = setup({ gate });
    const refusedJoin = join(fakeSession('alice'), { room: 'r' });
    await settle();
    gate.answerAll((req) => (req.action === 'room.join' ? { allow: false, reason: 'Not on the list' } : { allow: true }));
    await expect(refusedJoin).rejects.toEqual(expect.objectContaining({ code: 'FORBIDDEN', message: 'Not on the list' }));
    const refusedCreate = join(fakeSession('alice'), { room: 'r' });
    await settle();
    gate.answerAll((req) => (req.action === 'room.create' ? { allow: false } : { allow: true }));
    await expect(refusedCreate).rejects.toEqual(expect.objectContaining({ code: 'FORBIDDEN', message: 'The room service refused to create room "r"' }));
    expect(rooms.count).toBe(0);
  });

  it('refuses what the token does not grant without asking the room service', async () => {
    const gate = new FakeGate();
    const { join, rooms } = setup({ gate });
    expect(() => join(fakeSession('u', [{ room: 'other', join: true }]), { room: 'r' })).toThrow(code('FORBIDDEN'));
    await expect(join(fakeSession('u', [{ room: 'r', join: true }]), { room: 'r' })).rejects.toEqual(code('ROOM_NOT_FOUND'));
    expect(gate.asked).toEqual([]);
    expect(rooms.count).toBe(0);
  });

  it('admits no ghost: a connection that closed while the service was asked gets UNAVAILABLE and is in no room', async () => {
    const gate = new FakeGate();
    const { join, rooms, clock } = setup({ gate });
    const alice = fakeSession('alice');
    const answer = join(alice, { room: 'r' });
    await settle();
    alice.closing = true;
    gate.answerAll(() => ({ allow: true }));
    await expect(answer).rejects.toEqual(code('UNAVAILABLE'));
    expect([alice.peer, rooms.count, clock.pending]).toEqual([undefined, 0, 0]);
  });

  it('refuses a second join on the connection with CONFLICT while the first is asked, and allows one after', async () => {
    const gate = new FakeGate();
    const { join } = setup({ gate });
    const alice = fakeSession('alice');
    const first = join(alice, { room: 'r' });
    expect(() => join(alice, { room: 's' })).toThrow(code('CONFLICT'));
    await settle();
    gate.answerAll(() => ({ allow: false }));
    await expect(first).rejects.toEqual(code('FORBIDDEN'));
    expect(await gate.allow(join(alice, { room: 's' }))).toMatchObject({ room: { id: 's' } });
  });

  it('passes on the room service being away, and the connection may try again', async () => {
    const gate = new FakeGate();
    const { join } = setup({ gate });
    const alice = fakeSession('alice');
    const first = join(alice, { room: 'r' });
    await settle();
    for (const q of gate.asked.splice(0)) {
      q.fail(new AppError('UNAVAILABLE', 'room service down'));
    }
    await expect(first).rejects.toEqual(code('UNAVAILABLE'));
    expect(await gate.allow(join(alice, { room: 'r' }))).toMatchObject({ room: { id: 'r' } });
  });

  it('does not create a room it did not ask about: one that vanished meanwhile is ROOM_NOT_FOUND', async () => {
    const gate = new FakeGate();
    const { join, rooms, clock } = setup({ gate });
    rooms.create('r');
    const alice = fakeSession('alice');
    const answer = join(alice, { room: 'r' });
    await settle();
    expect(gate.actions()).toEqual(['room.join r']);
    clock.advance(1000); // the empty room's lifetime ends while the service is asked
    gate.answerAll(() => ({ allow: true }));
    await expect(answer).rejects.toEqual(code('ROOM_NOT_FOUND'));
    expect(rooms.count).toBe(0);
  });
});

describe('room.leave', () => {
  it('takes the peer out of its room, tells the others, and is NOT_IN_ROOM after', () => {
    const { join, handlers } = setup();
    const alice = fakeSession('alice');
    const bob = fakeSession('bob');
    void join(alice, { room: 'r' });
    void join(bob, { room: 'r' });
    const peerId = bob.peer!.id;
    expect(handlers['room.leave'](bob, {})).toEqual({});
    expect(bob.peer).toBeUndefined();
    expect(alice.sink.events.at(-1)).toEqual({ type: 'peer.left', data: { peerId, reason: 'left' } });
    expect(() => handlers['room.leave'](bob, {})).toThrow(code('NOT_IN_ROOM'));
  });
});
