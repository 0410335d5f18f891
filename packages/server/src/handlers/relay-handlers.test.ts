import { describe, expect, it } from 'vitest';
import type { RelayAck, RemoteSink } from '../rooms/peer-sink.js';
import { Peer } from '../rooms/room.js';
import { fakeSession, roomsOnFakeTime, type FakeSession } from '../test-support/room-fixtures.js';
import { relayHandlers } from './relay-handlers.js';

const code = (c: string) => expect.objectContaining({ code: c });

/** Three connections in room `r`. */
function setup() {
  const { rooms } = roomsOnFakeTime();
  const handlers = relayHandlers();
  const [alice, bob, carol] = ['alice', 'bob', 'carol'].map((userId) => {
    const session = fakeSession(userId);
    session.peer = rooms.join({ identity: session.identity, roomId: 'r', sink: session.sink }).peer;
    return session;
  }) as [FakeSession, FakeSession, FakeSession];
  for (const session of [alice, bob, carol]) {
    session.sink.events.length = 0; // the peer.joined of those after
  }
  return { rooms, handlers, alice, bob, carol };
}

describe('signal.send', () => {
  it('hands the signal to the one peer, marked with the sender', () => {
    const { handlers, alice, bob, carol } = setup();
    expect(handlers['signal.send'](alice, { to: bob.peer!.id, signal: { sdp: 'x' } })).toEqual({});
    expect(bob.sink.events).toEqual([{ type: 'signal', data: { from: alice.peer!.id, signal: { sdp: 'x' } } }]);
    expect(carol.sink.events).toEqual([]);
  });

  it('refuses a signal to itself (BAD_REQUEST), to no such peer (PEER_NOT_FOUND), without a room (NOT_IN_ROOM), or when not permitted (FORBIDDEN)', () => {
    const { handlers, alice, bob } = setup();
    expect(() => handlers['signal.send'](alice, { to: alice.peer!.id, signal: {} })).toThrow(code('BAD_REQUEST'));
    expect(() => handlers['signal.send'](alice, { to: 'PR_99', signal: {} })).toThrow(code('PEER_NOT_FOUND'));
    expect(() => handlers['signal.send'](fakeSession('dave'), { to: bob.peer!.id, signal: {} })).toThrow(code('NOT_IN_ROOM'));
    alice.peer!.permissions.signal = false;
    expect(() => handlers['signal.send'](alice, { to: bob.peer!.id, signal: {} })).toThrow(code('FORBIDDEN'));
    expect(bob.sink.events).toEqual([]);
  });

  it('acks a signal kept for a reconnecting peer as queued, and fails one whose connection is gone', () => {
    const { handlers, alice, bob } = setup();
    bob.sink.delivery = 'queued';
    expect(handlers['signal.send'](alice, { to: bob.peer!.id, signal: 1 })).toEqual({ queued: true });
    bob.sink.delivery = 'gone';
    expect(() => handlers['signal.send'](alice, { to: bob.peer!.id, signal: 2 })).toThrow(code('PEER_NOT_FOUND'));
  });
});

describe('data.send', () => {
  it('to one peer: recipients 1, queued when kept for a resume', () => {
    const { handlers, alice, bob, carol } = setup();
    expect(handlers['data.send'](alice, { to: bob.peer!.id, payload: { n: 1 } })).toEqual({ recipients: 1 });
    bob.sink.delivery = 'queued';
    expect(handlers['data.send'](alice, { to: bob.peer!.id, payload: { n: 2 } })).toEqual({ recipients: 1, queued: true });
    expect(bob.sink.events).toEqual([
      { type: 'data', data: { from: alice.peer!.id, payload: { n: 1 } } },
      { type: 'data', data: { from: alice.peer!.id, payload: { n: 2 } } },
    ]);
    expect(carol.sink.events).toEqual([]);
  });

  it('to everyone else: counts the recipients that took it', () => {
    const { handlers, alice, bob, carol } = setup();
    expect(handlers['data.send'](alice, { payload: 'hi' })).toEqual({ recipients: 2 });
    carol.sink.delivery = 'gone';
    expect(handlers['data.send'](alice, { payload: 'again' })).toEqual({ recipients: 1 });
    expect(bob.sink.events.map((e) => e.data)).toEqual([
      { from: alice.peer!.id, payload: 'hi' },
      { from: alice.peer!.id, payload: 'again' },
    ]);
    expect(alice.sink.events).toEqual([]);
  });

  it('refuses data to itself, to no such peer, or when not permitted', () => {
    const { handlers, alice, bob } = setup();
    expect(() => handlers['data.send'](alice, { to: alice.peer!.id, payload: 1 })).toThrow(code('BAD_REQUEST'));
    expect(() => handlers['data.send'](alice, { to: 'PR_99', payload: 1 })).toThrow(code('PEER_NOT_FOUND'));
    alice.peer!.permissions.data = false;
    expect(() => handlers['data.send'](alice, { payload: 1 })).toThrow(code('FORBIDDEN'));
    expect(bob.sink.events).toEqual([]);
  });

  it("to a member on another node: the ack waits for that node's answer", async () => {
    const { handlers, alice, rooms } = setup();
    const room = rooms.get('r')!;
    const relays: Array<{ data: string; answer: (ack: RelayAck) => void }> = [];
    const remote: RemoteSink = {
      node: 'ND_b',
      sendEvent: () => 'elsewhere',
      detached: () => undefined,
      relay: (_to, _event, data) => new Promise((answer) => relays.push({ data, answer })),
    };
    const far = new Peer('PR_far', 'dave', room, remote, 0, undefined, {});
    room.add(far, 'local');
    const ack = handlers['data.send'](alice, { to: 'PR_far', payload: 'x' });
    expect(ack).toBeInstanceOf(Promise);
    expect(relays.map((r) => JSON.parse(r.data) as unknown)).toEqual([{ from: alice.peer!.id, payload: 'x' }]);
    relays[0]!.answer({ queued: true });
    expect(await ack).toEqual({ recipients: 1, queued: true });
    const signalAck = handlers['signal.send'](alice, { to: 'PR_far', signal: 's' });
    relays[1]!.answer({});
    expect(await signalAck).toEqual({});
  });
});
