import { describe, expect, it } from 'vitest';
import { clusterNode, recordingRoute, settle } from '../test-support/fake-ps-cluster.js';
import type { FakePsPeer } from '../test-support/fake-ps-peer.js';
import type { PsNode } from '../test-support/ps-node.js';
import { identity } from '../test-support/room-fixtures.js';
import { PsPlayer, RemoteStreamer } from './endpoints.js';

/*
 * The dialect's cluster branches on one node (`clusterNode`), with a recording `PsCluster`: what
 * the node's peers observe, and what the cluster was asked. Node B holds the remote streamers.
 */

/** A streamer (or SFU) whose id the cluster granted; its handshake read. */
async function streamerIn(node: PsNode, id: string, type: 'Streamer' | 'SFU' = 'Streamer'): Promise<FakePsPeer> {
  const peer = node.connectStreamer(type);
  peer.send({ type: 'endpointId', id });
  await settle();
  expect(peer.takeTypes()).toEqual(['identify', 'config', 'endpointIdConfirm']);
  return peer;
}

/** What a player sent to a peer, after the flows it started have settled. */
async function sent(peer: FakePsPeer, message: Record<string, unknown>): Promise<void> {
  peer.send(message);
  await settle();
}

/** A player of another node as the streamer's node holds it: `seen` records what its link carries and its close. */
function guest(node: PsNode, id: string, seen: string[], identityOf?: ReturnType<typeof identity>): PsPlayer {
  const link = recordingRoute(
    '192.0.2.3',
    (json) => seen.push(json),
    (code, reason) => seen.push(`closed ${String(code)} ${String(reason)}`),
  );
  return new PsPlayer(id, link, 'Player', identityOf);
}

const player = (node: PsNode, id: string): PsPlayer => node.sig.players.get(id)!;

describe('the streamer list in a cluster', () => {
  it('merges this node’s streamers and the other nodes’ in claim order, without those stopped elsewhere', async () => {
    const { node, cluster } = clusterNode();
    await streamerIn(node, 'A');
    cluster.ids.addRemote('R1');
    await streamerIn(node, 'B');
    cluster.ids.addRemote('R2');
    cluster.ids.addRemote('Idle', 'C');
    cluster.stopped = new Set(['Idle']);
    node.connectStreamer(); // Unidentified: never listed to players.
    const viewer = node.player();
    await sent(viewer, { type: 'listStreamers' });
    expect(viewer.take()).toEqual([{ type: 'streamerList', ids: ['A', 'R1', 'B', 'R2'] }]);
    expect(cluster.calls).toEqual(['claim A 1', 'claim B 3']);
  });

  it('lists only this node’s streamers when the directory cannot be read', async () => {
    const { node, cluster } = clusterNode();
    await streamerIn(node, 'Local');
    cluster.ids.addRemote('Remote');
    cluster.ids.remote = undefined;
    const viewer = node.player();
    await sent(viewer, { type: 'listStreamers' });
    expect(viewer.take()).toEqual([{ type: 'streamerList', ids: ['Local'] }]);
  });

  it('lists to a player with a token only the granted streamers, and to an SFU every one, itself and stopped ones included', async () => {
    const { node, cluster } = clusterNode();
    cluster.ids.addRemote('Public');
    cluster.ids.addRemote('Private');
    cluster.stopped = new Set(['Private']);
    const sfu = await streamerIn(node, 'SFU', 'SFU');
    const viewer = node.player(identity('u1', [{ room: 'ps:Public', join: true }]));
    await sent(viewer, { type: 'listStreamers' });
    expect(viewer.take()).toEqual([{ type: 'streamerList', ids: ['Public'] }]);
    await sent(sfu, { type: 'listStreamers' });
    expect(sfu.take()).toEqual([{ type: 'streamerList', ids: ['Public', 'Private', 'SFU'] }]);
  });
});

describe('subscribing to a streamer of another node', () => {
  it('subscribes through the cluster: the player’s upstream is the remote streamer, its messages go there stamped', async () => {
    const { node, cluster } = clusterNode();
    cluster.ids.addRemote('R1');
    const viewer = node.player();
    await sent(viewer, { type: 'subscribe', streamerId: 'R1' });
    expect(viewer.take()).toEqual([]);
    expect(cluster.calls).toEqual(['subscribe Player0 R1@B']);
    const upstream = player(node, 'Player0').subscribedTo;
    expect(upstream).toBeInstanceOf(RemoteStreamer);
    expect(upstream).toMatchObject({ id: 'R1', nodeId: 'B' });
    await sent(viewer, { type: 'answer', sdp: 'v=0', playerId: 'Spoofed' });
    expect(cluster.forwarded).toEqual(['to R1: {"type":"answer","sdp":"v=0","playerId":"Player0"}']);
  });

  // An unreadable directory fails like an unknown streamer, at once.
  it.each([
    ['when the directory cannot be read', 'R1', true],
    ['for an id no node holds', 'Nope', false],
  ])('answers “does not exist” %s, without asking the cluster', async (_case, streamerId, unreadable) => {
    const { node, cluster } = clusterNode();
    cluster.ids.addRemote('R1');
    if (unreadable) {
      cluster.ids.remote = undefined;
    }
    const viewer = node.player();
    await sent(viewer, { type: 'subscribe', streamerId });
    expect(viewer.take()).toEqual([{ type: 'subscribeFailed', message: `Streamer ${streamerId} does not exist.` }]);
    expect(cluster.calls).toEqual([]);
  });

  it('answers subscribeFailed when the player’s token does not grant the remote streamer, without asking the cluster', async () => {
    const { node, cluster } = clusterNode();
    cluster.ids.addRemote('Private');
    const viewer = node.player(identity('u1', [{ room: 'ps:Public', join: true }]));
    await sent(viewer, { type: 'subscribe', streamerId: 'Private' });
    expect(viewer.take()).toEqual([{ type: 'subscribeFailed', message: 'Not authorized to subscribe to streamer Private.' }]);
    expect(cluster.calls).toEqual([]);
  });

  it('passes on the failure the streamer’s node answered, after leaving the old streamer', async () => {
    const { node, cluster } = clusterNode();
    const local = await streamerIn(node, 'Local');
    cluster.ids.addRemote('Full');
    const { player: viewer, playerId } = node.subscribed(local, 'Local');
    cluster.answer = () => 'Streamer Full is full. Max players = 1.';
    await sent(viewer, { type: 'subscribe', streamerId: 'Full' });
    expect(local.take()).toEqual([{ type: 'playerDisconnected', playerId }]);
    expect(viewer.take()).toEqual([{ type: 'subscribeFailed', message: 'Streamer Full is full. Max players = 1.' }]);
    expect(player(node, playerId).subscribedTo).toBeUndefined();
    expect(cluster.calls).toEqual(['claim Local 1', `subscribe ${playerId} Full@B`]);
  });

  it('tells an SFU nothing when its remote subscribe fails', async () => {
    const { node, cluster } = clusterNode();
    const sfu = await streamerIn(node, 'SFU', 'SFU');
    cluster.ids.addRemote('Game');
    cluster.answer = () => 'Streamer Game does not exist.';
    await sent(sfu, { type: 'subscribe', streamerId: 'Game' });
    expect(sfu.take()).toEqual([]);
    expect(cluster.calls).toEqual(['claim SFU 1', 'subscribe Player0 Game@B']);
  });

  it('says nothing when the player left while the cluster was subscribing it (the cluster answers undefined)', async () => {
    const { node, cluster } = clusterNode();
    cluster.ids.addRemote('R1');
    let answer: (outcome: undefined) => void = () => undefined;
    cluster.answer = () => new Promise((resolve) => (answer = resolve));
    const viewer = node.player();
    await sent(viewer, { type: 'subscribe', streamerId: 'R1' });
    viewer.hangUp();
    answer(undefined);
    await settle();
    expect(viewer.take()).toEqual([]);
    expect(node.sig.players.size).toBe(0);
    expect(cluster.calls).toEqual(['subscribe Player0 R1@B']);
  });
});

describe('leaving a remote streamer', () => {
  it('tells the cluster on unsubscribe, once; this node’s streamers hear nothing', async () => {
    const { node, cluster } = clusterNode();
    const local = await streamerIn(node, 'Local');
    cluster.ids.addRemote('R1');
    const viewer = node.player();
    await sent(viewer, { type: 'subscribe', streamerId: 'R1' });
    await sent(viewer, { type: 'unsubscribe' });
    expect(player(node, 'Player0').subscribedTo).toBeUndefined();
    viewer.hangUp();
    expect(cluster.calls).toEqual(['claim Local 1', 'subscribe Player0 R1@B', 'unsubscribe Player0 R1@B']);
    expect(local.take()).toEqual([]);
  });

  it('tells the cluster when the player hangs up, and when it moves to another remote streamer before subscribing there', async () => {
    const { node, cluster } = clusterNode();
    cluster.ids.addRemote('R1');
    cluster.ids.addRemote('R2', 'C');
    const viewer = node.player();
    await sent(viewer, { type: 'subscribe', streamerId: 'R1' });
    await sent(viewer, { type: 'subscribe', streamerId: 'R2' });
    viewer.hangUp();
    expect(cluster.calls).toEqual(['subscribe Player0 R1@B', 'unsubscribe Player0 R1@B', 'subscribe Player0 R2@C', 'unsubscribe Player0 R2@C']);
    expect(node.sig.players.size).toBe(0);
  });
});

describe('auto-subscribing in a cluster (legacy offer)', () => {
  it('subscribes to the first streamer in claim order, here on another node, and relays the offer there', async () => {
    const { node, cluster } = clusterNode();
    cluster.ids.addRemote('First');
    const local = await streamerIn(node, 'Second');
    const viewer = node.player();
    await sent(viewer, { type: 'offer', sdp: 'browser offer' });
    expect(cluster.calls).toEqual(['claim Second 2', 'subscribe Player0 First@B']);
    expect(cluster.forwarded).toEqual(['to First: {"type":"offer","sdp":"browser offer","playerId":"Player0"}']);
    expect(local.take()).toEqual([]);
  });

  it('skips the streamers the player may not use: a granted local one gets the player and its offer', async () => {
    const { node, cluster } = clusterNode();
    cluster.ids.addRemote('First');
    const local = await streamerIn(node, 'Mine');
    const viewer = node.player(identity('u1', [{ room: 'ps:Mine', join: true }]));
    await sent(viewer, { type: 'offer', sdp: 'browser offer' });
    expect(local.take()).toEqual([
      { type: 'playerConnected', dataChannel: true, sfu: false, playerId: 'Player0' },
      { type: 'offer', sdp: 'browser offer', playerId: 'Player0' },
    ]);
    expect(cluster.calls).toEqual(['claim Mine 2']);
  });

  it('falls back to this node’s streamers when the directory cannot be read', async () => {
    const { node, cluster } = clusterNode();
    cluster.ids.addRemote('First');
    const local = await streamerIn(node, 'Local');
    cluster.ids.remote = undefined;
    const viewer = node.player();
    await sent(viewer, { type: 'offer', sdp: 'o' });
    expect(local.takeTypes()).toEqual(['playerConnected', 'offer']);
    expect(cluster.calls).toEqual(['claim Local 2']);
  });

  it('closes the player when no streamer in the cluster is open to it', async () => {
    const { node, cluster } = clusterNode();
    cluster.ids.addRemote('Private');
    const viewer = node.player(identity('u1', [{ room: 'ps:Other', join: true }]));
    await sent(viewer, { type: 'offer', sdp: 'o' });
    expect(viewer.closed).toEqual({ code: 1005, reason: '' });
    expect(viewer.take()).toEqual([]);
    expect(node.sig.players.size).toBe(0);
    expect(cluster.calls).toEqual([]);
  });
});

describe('the streamer’s node ending a subscription (endRemote)', () => {
  async function remoteViewer() {
    const { node, cluster } = clusterNode();
    cluster.ids.addRemote('R1');
    const viewer = node.player();
    await sent(viewer, { type: 'subscribe', streamerId: 'R1' });
    const self = player(node, 'Player0');
    return { node, cluster, viewer, self, upstream: self.subscribedTo as RemoteStreamer };
  }

  it('closes the player with the kick’s code and reason; the cluster is not told back', async () => {
    const { node, cluster, viewer, self, upstream } = await remoteViewer();
    node.sig.endRemote(self, upstream, 1011, 'bye now');
    expect(viewer.closed).toEqual({ code: 1011, reason: 'bye now' });
    expect(self.subscribedTo).toBeUndefined();
    expect(node.sig.players.size).toBe(0);
    viewer.hangUp();
    expect(cluster.calls).toEqual(['subscribe Player0 R1@B']);
  });

  it('without a code closes the player as a local streamer leaving does (1005)', async () => {
    const { node, viewer, self, upstream } = await remoteViewer();
    node.sig.endRemote(self, upstream);
    expect(viewer.closed).toEqual({ code: 1005, reason: '' });
    expect(node.sig.players.size).toBe(0);
  });

  it('does nothing to a player that has left', async () => {
    const { node, cluster, viewer, self, upstream } = await remoteViewer();
    viewer.hangUp();
    node.sig.endRemote(self, upstream, 1011, 'late');
    expect(viewer.closed).toBeUndefined();
    expect(cluster.calls).toEqual(['subscribe Player0 R1@B', 'unsubscribe Player0 R1@B']);
  });

  it('tells an SFU streamerDisconnected and closes its own players; the SFU stays connected', async () => {
    const { node, cluster } = clusterNode();
    cluster.ids.addRemote('Game');
    const sfu = await streamerIn(node, 'SFU', 'SFU');
    await sent(sfu, { type: 'startStreaming' });
    await sent(sfu, { type: 'subscribe', streamerId: 'Game' });
    const { player: viewer, playerId } = node.subscribed(sfu, 'SFU');
    const self = player(node, 'Player0');
    node.sig.endRemote(self, self.subscribedTo as RemoteStreamer);
    expect(sfu.take()).toEqual([{ type: 'streamerDisconnected' }, { type: 'playerDisconnected', playerId }]);
    expect(viewer.closed).toEqual({ code: 1005, reason: '' });
    expect(sfu.closed).toBeUndefined();
    expect(node.sig.streamers.get('SFU')?.streaming).toBe(false);
    expect(cluster.calls).toEqual(['claim SFU 2', 'subscribe Player0 Game@B']);
  });
  it('closes an SFU kicked by the streamer’s node with the kick’s code, as a player', async () => {
    const { node, cluster } = clusterNode();
    cluster.ids.addRemote('Game');
    const sfu = await streamerIn(node, 'SFU', 'SFU');
    await sent(sfu, { type: 'subscribe', streamerId: 'Game' });
    const self = player(node, 'Player0');
    node.sig.endRemote(self, self.subscribedTo as RemoteStreamer, 1011, 'kicked');
    expect(sfu.take()).toEqual([]);
    expect(sfu.closed).toEqual({ code: 1011, reason: 'kicked' });
  });
});

describe('players of other nodes on this node’s streamers (attachRemote)', () => {
  it('subscribes a guest player: the streamer hears playerConnected, its messages reach the guest’s node', async () => {
    const { node } = clusterNode();
    const streamer = await streamerIn(node, 'S1');
    const seen: string[] = [];
    const visitor = guest(node, 'Player7', seen);
    expect(node.sig.attachRemote(visitor, 'S1')).toBeUndefined();
    expect(streamer.take()).toEqual([{ type: 'playerConnected', dataChannel: true, sfu: false, playerId: 'Player7' }]);
    // Its presence peer joined from its own node: none here.
    expect(node.members('S1')).toEqual(['ps-streamer:S1']);
    await sent(streamer, { type: 'offer', playerId: 'Player7', sdp: 'v=0' });
    expect(seen).toEqual(['{"type":"offer","playerId":"Player7","sdp":"v=0"}']);
  });

  it('answers the failure for an unknown or forbidden streamer, and when the streamer is full', async () => {
    const { node } = clusterNode({ config: { maxPlayersPerStreamer: 1 } });
    const streamer = await streamerIn(node, 'S1');
    const seen: string[] = [];
    expect(node.sig.attachRemote(guest(node, 'Player7', seen), 'Nope')).toBe('Streamer Nope does not exist.');
    const forbidden = guest(node, 'Player8', seen, identity('u1', [{ room: 'ps:Other', join: true }]));
    expect(node.sig.attachRemote(forbidden, 'S1')).toBe('Not authorized to subscribe to streamer S1.');
    expect(node.sig.attachRemote(guest(node, 'Player9', seen), 'S1')).toBeUndefined();
    expect(node.sig.attachRemote(guest(node, 'Player10', seen), 'S1')).toBe('Streamer S1 is full. Max players = 1.');
    expect(streamer.takeTypes()).toEqual(['playerConnected']);
    expect(seen).toEqual([]);
  });

  it('closes a kicked guest’s link with 1011 and the reason', async () => {
    const { node } = clusterNode();
    const streamer = await streamerIn(node, 'S1');
    const seen: string[] = [];
    expect(node.sig.attachRemote(guest(node, 'Player7', seen), 'S1')).toBeUndefined();
    streamer.take();
    await sent(streamer, { type: 'disconnectPlayer', playerId: 'Player7', reason: 'bye now' });
    expect(streamer.take()).toEqual([{ type: 'playerDisconnected', playerId: 'Player7' }]);
    expect(seen).toEqual(['closed 1011 bye now']);
  });
});

describe('a streamer leaving in a cluster', () => {
  it('gives its id back to the cluster and closes its guests’ links; an unidentified one releases nothing', async () => {
    const { node, cluster } = clusterNode();
    const streamer = await streamerIn(node, 'S1');
    const seen: string[] = [];
    expect(node.sig.attachRemote(guest(node, 'Player7', seen), 'S1')).toBeUndefined();
    node.connectStreamer().hangUp();
    streamer.hangUp();
    expect(seen).toEqual(['closed undefined undefined']);
    expect(cluster.calls).toEqual(['claim S1 1', 'release S1 1']);
    expect(node.eventLog).toEqual(['connected S1', 'disconnected S1 closed']);
  });
});
