import { describe, expect, it } from 'vitest';
import { clusterNode, settle } from '../test-support/fake-ps-cluster.js';
import type { FakePsPeer, PsMessage } from '../test-support/fake-ps-peer.js';
import { identity } from '../test-support/room-fixtures.js';
import { PEER_ADDRESS, PsNode } from '../test-support/ps-node.js';
import type { JoinRequest, JoinResult, Rooms } from '../rooms/rooms.js';
import { LocalMembership, type RoomMembership } from '../rooms/room-membership.js';
import { AppError } from '../shared/app-error.js';
import type { ClaimOutcome } from './ps-cluster.js';

/** §3.1 and §4.6 of the reference: a streamer's handshake, its id, and the events that follow it. */
describe('streamer registration', () => {
  it('sends identify then config (Epic’s key order), lists it under a placeholder, then confirms its id', () => {
    const node = new PsNode();
    const streamer = node.connectStreamer();
    const [identify, config, ...rest] = streamer.take();
    expect(identify).toEqual({ type: 'identify' });
    expect(config).toEqual({ type: 'config', peerConnectionOptions: {}, protocolVersion: '1.3.0' });
    expect(Object.keys(config!)).toEqual(['type', 'peerConnectionOptions', 'protocolVersion']);
    expect(rest).toEqual([]);
    expect(node.sig.streamers.list().map((s) => s.id)).toEqual(['UnknownStreamer']);
    expect(node.members('UnknownStreamer')).toBeUndefined();

    streamer.send({ type: 'endpointId', id: 'S1', protocolVersion: '1.0.0' });
    expect(streamer.take()).toEqual([{ type: 'endpointIdConfirm', committedId: 'S1' }]);
    expect(node.sig.streamers.get('S1')?.identified).toBe(true);
    expect(node.members('S1')).toEqual(['ps-streamer:S1']);
    expect(node.eventLog).toEqual(['connected S1']);
  });

  it('sends the configured peerConnectionOptions as they are', () => {
    const options = { iceServers: [{ urls: ['stun:stun.example.com:19302'] }], iceTransportPolicy: 'relay' };
    const node = new PsNode({ config: { peerConnectionOptions: options } });
    expect(node.connectStreamer().take()[1]).toEqual({ type: 'config', peerConnectionOptions: options, protocolVersion: '1.3.0' });
  });

  it('gives a second unidentified streamer the next placeholder, and an empty id the placeholder', () => {
    const node = new PsNode();
    const first = node.connectStreamer();
    node.connectStreamer();
    expect(node.sig.streamers.list().map((s) => s.id)).toEqual(['UnknownStreamer', 'UnknownStreamer1']);
    first.take();
    first.send({ type: 'endpointId', id: '' });
    expect(first.take()).toEqual([{ type: 'endpointIdConfirm', committedId: 'UnknownStreamer' }]);
  });

  it('reports the streamer’s id, type, address and time in streamer.connected', () => {
    const node = new PsNode();
    node.clock.advance(1234);
    const seen: unknown[] = [];
    node.events.on('streamer.connected', (e) => seen.push(e));
    node.streamer('S1');
    expect(seen).toEqual([{ streamerId: 'S1', type: 'Streamer', remoteAddress: PEER_ADDRESS, at: node.clock.now() }]);
  });

  it('closes with 1008 a streamer whose id is not URL-safe (Heliograph needs ids it can put in a URL)', () => {
    const node = new PsNode();
    const streamer = node.connectStreamer();
    streamer.take();
    streamer.send({ type: 'endpointId', id: 'has spaces' });
    expect(streamer.closed).toEqual({ code: 1008, reason: 'streamer id not authorized' });
    expect(streamer.take()).toEqual([]);
    expect(node.eventLog).toEqual([]);
  });
});

describe('duplicate streamer ids', () => {
  it('renames a duplicate (default): free ids kept, own id kept, ids ending in digits suffixed too', () => {
    const node = new PsNode();
    const first = node.streamer('DefaultStreamer');
    node.streamer('DefaultStreamer', 'DefaultStreamer1');
    node.streamer('Cam1');
    node.streamer('Cam1', 'Cam11');
    // Epic renamed a streamer re-sending its own id (DefaultStreamer2); here it keeps it, and nothing is announced.
    first.send({ type: 'endpointId', id: 'DefaultStreamer' });
    expect(first.take()).toEqual([{ type: 'endpointIdConfirm', committedId: 'DefaultStreamer' }]);
    expect(node.eventLog).toEqual(['connected DefaultStreamer', 'connected DefaultStreamer1', 'connected Cam1', 'connected Cam11']);
    first.hangUp();
    // A free id is never suffixed (Epic gave DefaultStreamer2 while DefaultStreamer1 existed).
    node.streamer('DefaultStreamer');
  });

  it('replaces the holder when configured: 4409 to it, its players closed, then the new one confirmed', () => {
    const node = new PsNode({ config: { duplicateStreamerIds: 'replace' } });
    const stale = node.streamer('S1');
    const { player } = node.subscribed(stale, 'S1');
    const fresh = node.connectStreamer();
    fresh.send({ type: 'endpointId', id: 'S1' });
    expect(stale.closed).toEqual({ code: 4409, reason: 'replaced by a new connection' });
    expect(player.closed).toEqual({ code: 1005, reason: '' });
    expect(player.take()).toEqual([]);
    expect(fresh.take().at(-1)).toEqual({ type: 'endpointIdConfirm', committedId: 'S1' });
    expect(node.eventLog).toEqual(['connected S1', 'disconnected S1 replaced', 'connected S1']);
    expect(node.members('S1')).toEqual(['ps-streamer:S1']);
    // The old connection's close completing later changes nothing.
    stale.hangUp();
    expect(node.sig.streamers.list()).toHaveLength(1);
    expect(node.eventLog).toHaveLength(3);
  });

  it('refuses a duplicate with 1008 when configured, leaving the holder alone', () => {
    const node = new PsNode({ config: { duplicateStreamerIds: 'reject' } });
    const holder = node.streamer('S1');
    const dup = node.connectStreamer();
    dup.send({ type: 'endpointId', id: 'S1' });
    expect(dup.closed).toEqual({ code: 1008, reason: 'streamer id in use' });
    expect(dup.takeTypes()).toEqual(['identify', 'config']);
    expect(holder.closed).toBeUndefined();
    expect(holder.take()).toEqual([]);
    dup.hangUp();
    expect(node.sig.streamers.list().map((s) => s.id)).toEqual(['S1']);
    expect(node.eventLog).toEqual(['connected S1']);
  });
});

describe('streamer id authorisation', () => {
  it('closes with 1008 a streamer asking for an id outside allowedStreamerIds', () => {
    const node = new PsNode({ config: { allowedStreamerIds: ['S*'] } });
    node.streamer('S1');
    const squatter = node.connectStreamer();
    squatter.send({ type: 'endpointId', id: 'Bank' });
    expect(squatter.closed).toEqual({ code: 1008, reason: 'streamer id not authorized' });
    expect(squatter.takeTypes()).toEqual(['identify', 'config']);
    expect(node.eventLog).toEqual(['connected S1']);
  });

  it('asks authorizeStreamerId with the streamer’s type, address and identity', () => {
    const asked: unknown[] = [];
    const node = new PsNode({
      authorizeStreamerId: (id, context) => {
        asked.push({ id, ...context });
        return id !== 'Taken';
      },
    });
    node.streamer('Mine');
    const refused = node.connectStreamer();
    refused.send({ type: 'endpointId', id: 'Taken' });
    expect(refused.closed).toEqual({ code: 1008, reason: 'streamer id not authorized' });
    expect(asked).toEqual([
      { id: 'Mine', type: 'Streamer', remoteAddress: PEER_ADDRESS, identity: undefined },
      { id: 'Taken', type: 'Streamer', remoteAddress: PEER_ADDRESS, identity: undefined },
    ]);
  });

  it('lets a JWT streamer take only ids its grants may create as ps:<id>', () => {
    const node = new PsNode();
    const who = identity('studio', [{ room: 'ps:Studio*', create: true }]);
    const streamer = node.connectStreamer('Streamer', { kind: 'jwt', identity: who });
    streamer.take();
    streamer.send({ type: 'endpointId', id: 'StudioA' });
    expect(streamer.take()).toEqual([{ type: 'endpointIdConfirm', committedId: 'StudioA' }]);
    streamer.send({ type: 'endpointId', id: 'Other' });
    expect(streamer.closed).toEqual({ code: 1008, reason: 'streamer id not authorized' });
    expect(streamer.take()).toEqual([]);
  });
});

describe('streamer renames', () => {
  it('tells subscribers streamerIdChanged before the confirmation, and moves presence to the new room', () => {
    const node = new PsNode();
    const streamer = node.streamer('Old');
    const { player, playerId } = node.subscribed(streamer, 'Old');
    const order: string[] = [];
    node.events.on('streamer.renamed', () => order.push(`event, player had ${player.log.length}`));
    streamer.send({ type: 'endpointId', id: 'New' });
    expect(player.take()).toEqual([{ type: 'streamerIdChanged', newID: 'New' }]);
    expect(streamer.take()).toEqual(confirmed('New'));
    expect(order).toEqual(['event, player had 2']);
    expect(node.eventLog).toEqual(['connected Old', 'renamed New Old']);
    expect(node.members('New')).toEqual(['ps-streamer:New', `ps-player:${playerId}`]);
    expect(node.members('Old') ?? []).toEqual([]);
    player.send({ type: 'listStreamers' });
    expect(player.take()).toEqual([{ type: 'streamerList', ids: ['New'] }]);
  });

  it('renames onto a taken id with a suffix (rename policy)', () => {
    const node = new PsNode();
    node.streamer('A');
    const b = node.streamer('B');
    b.send({ type: 'endpointId', id: 'A' });
    expect(b.take()).toEqual([{ type: 'endpointIdConfirm', committedId: 'A1' }]);
    expect(node.eventLog).toEqual(['connected A', 'connected B', 'renamed A1 B']);
  });
});

describe('streamer.disconnected', () => {
  it('is emitted with closed when an identified streamer hangs up, never for an unidentified one', () => {
    const node = new PsNode();
    const seen: unknown[] = [];
    node.events.on('streamer.disconnected', (e) => seen.push(e));
    const anonymous = node.connectStreamer();
    anonymous.hangUp();
    const streamer = node.streamer('S1');
    node.clock.advance(500);
    streamer.hangUp();
    expect(seen).toEqual([{ streamerId: 'S1', type: 'Streamer', remoteAddress: PEER_ADDRESS, at: node.clock.now(), reason: 'closed' }]);
    expect(node.sig.streamers.size).toBe(0);
    expect(node.members('S1') ?? []).toEqual([]);
  });

  it('carries the reason noted before the close (shutdown)', () => {
    const node = new PsNode();
    const streamer = node.streamer('S1');
    node.sig.noteDisconnectReason(node.sig.streamers.get('S1')!, 'shutdown');
    streamer.hangUp();
    expect(node.eventLog).toEqual(['connected S1', 'disconnected S1 shutdown']);
  });
});

/**
 * Presence joins as a cluster makes them: asynchronous, here held until `admit()`. A join whose
 * endpoint went away or tried again meanwhile is refused, as the directory's is.
 */
class HeldMembership implements RoomMembership {
  readonly #local: LocalMembership;
  readonly #held: Array<() => void> = [];

  constructor(rooms: Rooms) {
    this.#local = new LocalMembership(rooms);
  }

  get catalog() {
    return this.#local.catalog;
  }

  exists(roomId: string): boolean {
    return this.#local.exists(roomId);
  }

  join(req: JoinRequest, cancelled: () => boolean): Promise<JoinResult> {
    return new Promise((resolve, reject) => {
      this.#held.push(() => (cancelled() ? reject(new AppError('UNAVAILABLE', 'cancelled')) : resolve(this.#local.join(req))));
    });
  }

  /** Lets every held join through, oldest first, and the flows waiting on them run. */
  async admit(): Promise<void> {
    for (const join of this.#held.splice(0)) {
      join();
    }
    await settle();
  }
}

/**
 * A streamer that sent `endpointId {id}` to a cluster node, once the claim settled: its peer, and
 * what it was sent after its handshake.
 */
async function claiming(node: PsNode, id: string): Promise<[FakePsPeer, PsMessage[]]> {
  const peer = node.connectStreamer();
  peer.send({ type: 'endpointId', id });
  await settle();
  const [identify, config, ...rest] = peer.take();
  expect([identify?.type, config?.type]).toEqual(['identify', 'config']);
  return [peer, rest];
}

const confirmed = (committedId: string) => [{ type: 'endpointIdConfirm', committedId }];

/** `StreamerIds` in a cluster: each id is claimed in the directory (`FakePsClusterIds`) before it is confirmed. */
describe('streamer ids in a cluster', () => {
  it('gives back an id whose claim came back after the streamer left, and confirms nothing', async () => {
    const { node, cluster } = clusterNode();
    let grant: (outcome: ClaimOutcome) => void = () => undefined;
    cluster.ids.answer = () => new Promise((resolve) => (grant = resolve));
    const [streamer, said] = await claiming(node, 'S1');
    streamer.hangUp();
    grant({ id: 'S1' });
    await settle();
    expect(cluster.calls).toEqual(['claim S1 1', 'release S1 1']);
    expect([...said, ...streamer.take()]).toEqual([]);
    expect(node.eventLog).toEqual([]);
    expect(node.members('S1')).toBeUndefined();
  });

  // Without the directory the id could be taken twice, so the streamer is sent away to try again.
  it.each([
    ['in use', 1008, 'streamer id in use'],
    ['unavailable', 1013, 'cluster unavailable'],
  ] as const)('closes a streamer whose claim was refused as %s with %i', async (refused, code, reason) => {
    const { node, cluster } = clusterNode();
    cluster.ids.answer = () => ({ refused });
    const [streamer, said] = await claiming(node, 'S1');
    expect(streamer.closed).toEqual({ code, reason });
    expect(said).toEqual([]);
    streamer.hangUp();
    expect(node.eventLog).toEqual([]);
    expect(node.members('S1')).toBeUndefined();
    expect(cluster.calls).toEqual(['claim S1 1']);
  });

  it('evicts (4409) the identified streamer of this node that still held the id the directory granted', async () => {
    const { node, cluster } = clusterNode();
    const [stale] = await claiming(node, 'S1');
    const [, said] = await claiming(node, 'S1');
    expect(stale.closed).toEqual({ code: 4409, reason: 'replaced by a new connection' });
    expect(said).toEqual(confirmed('S1'));
    expect(node.eventLog).toEqual(['connected S1', 'disconnected S1 replaced', 'connected S1']);
    expect(node.members('S1')).toEqual(['ps-streamer:S1']);
    // The old one's release names its own key: the directory keeps the id for the new one.
    expect(cluster.calls).toEqual(['claim S1 1', 'claim S1 2', 'release S1 1']);
  });

  it('moves an unidentified streamer listed under the granted id to a free placeholder', async () => {
    const { node } = clusterNode();
    const waiting = node.connectStreamer();
    const [, said] = await claiming(node, 'UnknownStreamer');
    expect(said).toEqual(confirmed('UnknownStreamer'));
    // Not `UnknownStreamer1`: the claiming streamer was still listed there when the other moved.
    expect(node.sig.streamers.list().map((s) => s.id)).toEqual(['UnknownStreamer2', 'UnknownStreamer']);
    expect(waiting.closed).toBeUndefined();
    expect(node.eventLog).toEqual(['connected UnknownStreamer']);
  });

  it('renames: subscribers hear streamerIdChanged before the confirmation, the cluster is told, then the old id is released', async () => {
    const wire: string[] = [];
    const { node, cluster } = clusterNode({ inspect: (_peer, direction, type) => (direction === 'out' ? wire.push(type) : undefined) });
    const [streamer, said] = await claiming(node, 'Old');
    expect(said).toEqual(confirmed('Old'));
    const { player, playerId } = node.subscribed(streamer, 'Old');
    expect(cluster.calls).toEqual(['claim Old 1']); // No `renamed` for the first id.
    wire.length = 0;
    streamer.send({ type: 'endpointId', id: 'New' });
    await settle();
    expect(wire).toEqual(['streamerIdChanged', 'endpointIdConfirm']);
    expect(player.take()).toEqual([{ type: 'streamerIdChanged', newID: 'New' }]);
    expect(streamer.take()).toEqual(confirmed('New'));
    expect(cluster.calls).toEqual(['claim Old 1', 'claim New 1', 'renamed New', 'release Old 1']);
    expect(node.members('New')).toEqual(['ps-streamer:New', `ps-player:${playerId}`]);
    expect(node.eventLog).toEqual(['connected Old', 'renamed New Old']);
  });

  it('confirms only the latest of two renames made while presence was on its way', async () => {
    let membership: HeldMembership | undefined;
    const { node, cluster } = clusterNode({ membership: (rooms) => (membership = new HeldMembership(rooms)) });
    const held = membership!;
    const [streamer, said] = await claiming(node, 'Old');
    expect(said).toEqual([]); // Presence first, then the confirmation.
    await held.admit();
    expect(streamer.take()).toEqual(confirmed('Old'));
    // The connection's gate holds a second `endpointId` until the first is confirmed, so the
    // second rename is made on `PsSignalling` directly, as any other caller could.
    const ps = node.sig.streamers.get('Old')!;
    const first = node.sig.ids.identify(ps, 'A');
    await settle();
    const second = node.sig.ids.identify(ps, 'B');
    await settle();
    await held.admit();
    await Promise.all([first, second]);
    expect(streamer.take()).toEqual(confirmed('B'));
    expect(cluster.calls.slice(0, 3)).toEqual(['claim Old 1', 'claim A 1', 'claim B 1']);
    expect(cluster.calls.slice(3).sort()).toEqual(['release A 1', 'release Old 1', 'renamed B']);
    expect(node.members('B')).toEqual(['ps-streamer:B']);
    expect(node.members('A') ?? []).toEqual([]);
    // The event names the id last confirmed, not the one overtaken on its way.
    expect(node.eventLog).toEqual(['connected Old', 'renamed B Old']);
  });
});
