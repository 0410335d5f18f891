import { describe, expect, it } from 'vitest';
import { Peer } from './room.js';
import { isRemote, type PeerSink, type RelayAck, type RemoteSink } from './peer-sink.js';
import { Room } from './room.js';

const sink = (got: string[]): PeerSink => ({
  sendEvent: (_type, data) => (got.push(data), 'ok'),
  detached: () => undefined,
});

/** A member's sink on another node: relays are recorded and answered when the test says so. */
function remote(node: string, relays: Array<{ data: string; answer: (ack: RelayAck) => void }> = []): RemoteSink {
  return {
    node,
    sendEvent: () => 'elsewhere',
    detached: () => undefined,
    relay: (peer, _event, data) => {
      peer.routeStarted();
      return new Promise<RelayAck>((resolve) => relays.push({ data, answer: resolve })).finally(() => peer.routeSettled());
    },
  };
}

const nodeOf = (peer: Peer) => (isRemote(peer.sink) ? peer.sink.node : undefined);
const newRoom = () => new Room('r', 0, { maxPeers: 10, emptyTimeoutMs: 0, metadata: {} });

describe('a peer and its route', () => {
  it('relays to a local peer synchronously and to a remote one through its node, by the same call', async () => {
    const room = newRoom();
    const got: string[] = [];
    const local = new Peer('p1', 'u1', room, sink(got), 0, undefined, {});
    const relays: Array<{ data: string; answer: (ack: RelayAck) => void }> = [];
    const far = new Peer('p2', 'u2', room, remote('ND_a', relays), 0, undefined, {});
    expect(local.relay('signal', '1')).toEqual({});
    expect(got).toEqual(['1']);
    const ack = far.relay('signal', '2');
    expect(ack).toBeInstanceOf(Promise);
    relays[0]!.answer({ queued: true });
    expect(await ack).toEqual({ queued: true });
    expect([local.local, nodeOf(local), far.local, nodeOf(far)]).toEqual([true, undefined, false, 'ND_a']);
  });

  it('turns a connection that could not take a relay into the typed error', () => {
    const room = newRoom();
    const gone = new Peer('p1', 'u1', room, { sendEvent: () => 'gone', detached: () => undefined }, 0, undefined, {});
    const slow = new Peer('p2', 'u2', room, { sendEvent: () => 'overloaded', detached: () => undefined }, 0, undefined, {});
    expect(() => gone.relay('data', '1')).toThrow(expect.objectContaining({ code: 'PEER_NOT_FOUND' }));
    expect(() => slow.relay('data', '1')).toThrow(expect.objectContaining({ code: 'PEER_OVERLOADED' }));
  });

  it('counts members on other nodes as reached once the link published a broadcast, and not at all without one', () => {
    const room = newRoom();
    const got: string[] = [];
    room.add(new Peer('p1', 'u1', room, sink(got), 0, undefined, {}), 'local');
    room.add(new Peer('p2', 'u2', room, remote('ND_a'), 0, undefined, {}), 'local');
    room.add(new Peer('p3', 'u3', room, remote('ND_b'), 0, undefined, {}), 'local');
    got.length = 0; // the peer.joined of the others
    expect(room.broadcast('data', '"x"')).toBe(1);
    let up = true;
    room.link = { publish: () => up };
    expect(room.broadcast('data', '"y"', 'p2')).toBe(2);
    up = false;
    expect(room.broadcast('data', '"z"')).toBe(1);
    expect(got).toEqual(['"x"', '"y"', '"z"']);
  });
});

describe('a peer that moves between nodes', () => {
  it("relocates without a word and keeps the room's count of local members right", () => {
    const room = newRoom();
    const mirror = new Peer('p1', 'u1', room, remote('ND_a'), 0, undefined, {});
    room.add(mirror, 'local');
    expect(room.localSize).toBe(0);
    const got: string[] = [];
    room.relocate(mirror, sink(got));
    expect([nodeOf(mirror), room.localSize]).toEqual([undefined, 1]);
    room.broadcast('data', '"hello"', undefined, 'local');
    expect(got).toEqual(['"hello"']);
    room.relocate(mirror, remote('ND_b'));
    expect([nodeOf(mirror), room.localSize]).toEqual(['ND_b', 0]);
  });

  it('makes later relays wait for those still on their way to its old node, then sends them by the new route', async () => {
    const room = newRoom();
    const toA: Array<{ data: string; answer: (ack: RelayAck) => void }> = [];
    const toB: Array<{ data: string; answer: (ack: RelayAck) => void }> = [];
    const peer = new Peer('p1', 'u1', room, remote('ND_a', toA), 0, undefined, {});
    room.add(peer, 'local');
    const first = peer.relay('signal', '1');
    const second = peer.relay('signal', '2');
    room.relocate(peer, remote('ND_b', toB));
    expect(peer.earlierRoute).toBeDefined();
    const third = peer.relay('signal', '3');
    await Promise.resolve();
    expect(toB).toEqual([]);
    toA[0]!.answer({});
    await first;
    await Promise.resolve();
    expect(toB).toEqual([]);
    toA[1]!.answer({});
    await second;
    await peer.earlierRoute;
    await new Promise((resolve) => setImmediate(resolve));
    expect(toB.map((r) => r.data)).toEqual(['3']);
    toB[0]!.answer({});
    expect(await third).toEqual({});
    expect(peer.earlierRoute).toBeUndefined();
    // With nothing on its way, a move costs later relays nothing.
    room.relocate(peer, remote('ND_c'));
    expect(peer.earlierRoute).toBeUndefined();
  });
});
