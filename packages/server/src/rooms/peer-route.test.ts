import { describe, expect, it } from 'vitest';
import { Peer, REMOTE_SINK, type PeerSink } from './peer.js';
import { Room } from './room.js';

const sink = (got: string[]): PeerSink => ({
  sendEvent: (_type, data) => (got.push(data), 'ok'),
  detached: () => undefined,
});

describe('a peer that moves between nodes', () => {
  it('relocates without a word and keeps the room\'s count of local members right', () => {
    const room = new Room('r', 0, { maxPeers: 10, emptyTimeoutMs: 0, metadata: {} });
    const mirror = new Peer('p1', 'u1', room, REMOTE_SINK, 0, undefined, {}, undefined, 'ND_a');
    room.add(mirror, 'local');
    expect(room.localSize).toBe(0);
    const got: string[] = [];
    room.relocate(mirror, undefined, sink(got));
    expect([mirror.node, room.localSize]).toEqual([undefined, 1]);
    room.broadcast('data', '"hello"', undefined, 'local');
    expect(got).toEqual(['"hello"']);
    room.relocate(mirror, 'ND_b', REMOTE_SINK);
    expect([mirror.node, room.localSize]).toEqual(['ND_b', 0]);
  });

  it('makes later relays wait for those still on their way to its old node', async () => {
    const room = new Room('r', 0, { maxPeers: 10, emptyTimeoutMs: 0, metadata: {} });
    const peer = new Peer('p1', 'u1', room, REMOTE_SINK, 0, undefined, {}, undefined, 'ND_a');
    room.add(peer, 'local');
    peer.routeStarted();
    peer.routeStarted();
    room.relocate(peer, 'ND_b', REMOTE_SINK);
    const waiting = peer.earlierRoute;
    expect(waiting).toBeDefined();
    let through = false;
    void waiting!.then(() => (through = true));
    peer.routeSettled();
    await Promise.resolve();
    expect(through).toBe(false);
    peer.routeSettled();
    await waiting;
    expect(through).toBe(true);
    expect(peer.earlierRoute).toBeUndefined();
    // With nothing on its way, a move costs later relays nothing.
    room.relocate(peer, 'ND_c', REMOTE_SINK);
    expect(peer.earlierRoute).toBeUndefined();
  });
});
