import { describe, expect, it } from 'vitest';
import { fakeSession, roomsOnFakeTime } from '../test-support/room-fixtures.js';
import { peerHandlers } from './peer-handlers.js';
import { sessionHandlers } from './session-handlers.js';

const code = (c: string) => expect.objectContaining({ code: c });

describe('peer.update and ping', () => {
  function setup() {
    const { rooms, clock } = roomsOnFakeTime();
    const handlers = peerHandlers({ clock, rooms });
    const alice = fakeSession('alice');
    const bob = fakeSession('bob');
    for (const s of [alice, bob]) {
      s.peer = rooms.join({ identity: s.identity, roomId: 'r', sink: s.sink }).peer;
    }
    return { clock, handlers, alice, bob };
  }

  it("changes the peer's name and metadata, answers with its info and tells the others, not itself", () => {
    const { handlers, alice, bob } = setup();
    const before = alice.sink.events.length;
    const answer = handlers['peer.update'](alice, { name: 'Alice', metadata: { mic: false } });
    expect(answer).toEqual({ peer: alice.peer!.info() });
    expect(alice.peer!.info()).toMatchObject({ name: 'Alice', metadata: { mic: false } });
    expect(bob.sink.events.at(-1)).toEqual({ type: 'peer.updated', data: { peer: alice.peer!.info() } });
    expect(alice.sink.events).toHaveLength(before);
  });

  it('refuses a peer without the update permission (FORBIDDEN) and a connection in no room (NOT_IN_ROOM)', () => {
    const { handlers, alice, bob } = setup();
    alice.peer!.permissions.update = false;
    const before = bob.sink.events.length;
    expect(() => handlers['peer.update'](alice, { name: 'X' })).toThrow(code('FORBIDDEN'));
    expect(() => handlers['peer.update'](fakeSession('carol'), { name: 'X' })).toThrow(code('NOT_IN_ROOM'));
    expect(bob.sink.events).toHaveLength(before);
    expect(alice.peer!.name).toBeUndefined();
  });

  it("answers a ping with the server's clock", () => {
    const { handlers, clock, alice } = setup();
    clock.advance(1234);
    expect(handlers.ping(alice, {})).toEqual({ serverTime: clock.now() });
  });
});

describe('session.ack and session.resume', () => {
  it('passes an ack to the session, and refuses a resume that reached the dispatcher', () => {
    const handlers = sessionHandlers();
    const session = fakeSession('alice');
    expect(handlers['session.ack'](session, { seq: 7 })).toEqual({});
    expect(session.acked).toEqual([7]);
    expect(() => handlers['session.resume'](session, { session: 'S', secret: 'x', lastSeq: 0 })).toThrow(code('BAD_REQUEST'));
  });
});
