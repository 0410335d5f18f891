import { describe, expect, it } from 'vitest';
import { identity } from '../test-support/room-fixtures.js';
import { PsNode } from '../test-support/ps-node.js';

/** §3.2, §3.3 and §4.3 of the reference: what each peer's messages become, and who gets them. */
const candidate = { candidate: 'candidate:1 1 udp 1 192.0.2.1 5000 typ host', sdpMid: '0', sdpMLineIndex: 0 };

describe('relays between a streamer and its players', () => {
  it('stamps the player’s own id on everything it sends, over a made-up or empty playerId', () => {
    const node = new PsNode();
    const streamer = node.streamer('S1');
    const { player, playerId } = node.subscribed(streamer, 'S1');
    player.send({ type: 'answer', sdp: 'a', minBitrateBps: 0, playerId: 'SomeoneElse' });
    player.send({ type: 'iceCandidate', candidate });
    player.send({ type: 'layerPreference', spatialLayer: 0, temporalLayer: 0, playerId: '' });
    player.send({ type: 'dataChannelRequest' });
    player.send({ type: 'peerDataChannelsReady' });
    expect(streamer.take()).toEqual([
      { type: 'answer', sdp: 'a', minBitrateBps: 0, playerId },
      { type: 'iceCandidate', candidate, playerId },
      { type: 'layerPreference', spatialLayer: 0, temporalLayer: 0, playerId },
      { type: 'dataChannelRequest', playerId },
      { type: 'peerDataChannelsReady', playerId },
    ]);
  });

  it('forwards a streamer’s offer, answer and ICE to its player as they came (UE 5.7 keeps playerId)', () => {
    const node = new PsNode();
    const streamer = node.streamer('S1');
    const { player, playerId } = node.subscribed(streamer, 'S1');
    streamer.send({ type: 'offer', playerId, sdp: 'v=0 offer', scalabilityMode: 'L1T1' });
    streamer.send({ type: 'iceCandidate', playerId, candidate });
    expect(player.take()).toEqual([
      { type: 'offer', playerId, sdp: 'v=0 offer', scalabilityMode: 'L1T1' },
      { type: 'iceCandidate', playerId, candidate },
    ]);
  });

  it('strips playerId from a streamer’s offer, answer and ICE in UE 5.5/5.6 mode', () => {
    const node = new PsNode({ config: { playerIdInForwards: 'strip' } });
    const streamer = node.streamer('S1');
    const { player, playerId } = node.subscribed(streamer, 'S1');
    streamer.send({ type: 'offer', playerId, sdp: 'o' });
    streamer.send({ type: 'answer', playerId, sdp: 'a' });
    streamer.send({ type: 'iceCandidate', playerId, candidate });
    expect(player.take()).toEqual([
      { type: 'offer', sdp: 'o' },
      { type: 'answer', sdp: 'a' },
      { type: 'iceCandidate', candidate },
    ]);
  });

  it('delivers a streamer’s message only to its own subscribers; the rest are counted unroutable', () => {
    const node = new PsNode();
    const a = node.streamer('A');
    const b = node.streamer('B');
    const { player: pa } = node.subscribed(a, 'A');
    const { player: pb, playerId: idB } = node.subscribed(b, 'B');
    a.send({ type: 'offer', playerId: idB, sdp: 'cross-tenant' });
    a.send({ type: 'offer', sdp: 'no target' });
    a.send({ type: 'answer', playerId: '', sdp: 'empty target' });
    a.send({ type: 'iceCandidate', playerId: 'Player99', candidate });
    expect(pa.take()).toEqual([]);
    expect(pb.take()).toEqual([]);
    expect(node.drops.unroutable).toBe(4);
  });

  it('sends a streamer’s layerPreference to its SFU subscribers only', () => {
    const node = new PsNode();
    const streamer = node.streamer('S1');
    const sfu = node.streamer('SFU', 'SFU', 'SFU');
    sfu.send({ type: 'subscribe', streamerId: 'S1' });
    expect(streamer.take()).toEqual([{ type: 'playerConnected', dataChannel: true, sfu: true, playerId: 'Player0' }]);
    const { player } = node.subscribed(streamer, 'S1');
    streamer.send({ type: 'layerPreference', spatialLayer: 0, temporalLayer: 1, playerId: 'Player0' });
    expect(sfu.take()).toEqual([{ type: 'layerPreference', spatialLayer: 0, temporalLayer: 1, playerId: 'Player0' }]);
    expect(player.take()).toEqual([]);
  });
});

describe('ping, pong and stats', () => {
  it('answers ping with pong echoing time unchanged, from any kind of peer', () => {
    const node = new PsNode();
    const streamer = node.streamer('S1');
    const sfu = node.streamer('SFU', 'SFU', 'SFU');
    const player = node.player();
    streamer.send({ type: 'ping', time: 1767225600 });
    sfu.send({ type: 'ping', time: 5 });
    player.send({ type: 'ping', time: 1767225600123.5 });
    player.send({ type: 'ping' });
    expect(streamer.take()).toEqual([{ type: 'pong', time: 1767225600 }]);
    expect(sfu.take()).toEqual([{ type: 'pong', time: 5 }]);
    expect(player.take()).toEqual([{ type: 'pong', time: 1767225600123.5 }, { type: 'pong' }]);
  });

  it('needs nothing for pong or the deprecated stats', () => {
    const node = new PsNode();
    const streamer = node.streamer('S1');
    const { player } = node.subscribed(streamer, 'S1');
    player.send({ type: 'pong', time: 1 });
    player.send({ type: 'stats', data: {} });
    streamer.send({ type: 'pong', time: 1 });
    expect(player.take()).toEqual([]);
    expect(streamer.take()).toEqual([]);
    expect(node.drops.unroutable).toBe(0);
  });
});

describe('the legacy BrowserSendOffer path (auto-subscribe)', () => {
  it('subscribes a player that offers without subscribing to the first streamer: playerConnected, then the offer', () => {
    const node = new PsNode();
    const first = node.streamer('S1');
    const second = node.streamer('S2');
    const player = node.player();
    player.send({ type: 'offer', sdp: 'browser offer' });
    expect(first.take()).toEqual([
      { type: 'playerConnected', dataChannel: true, sfu: false, playerId: 'Player0' },
      { type: 'offer', sdp: 'browser offer', playerId: 'Player0' },
    ]);
    expect(second.take()).toEqual([]);
    first.send({ type: 'answer', playerId: 'Player0', sdp: 'streamer answer' });
    expect(player.take()).toEqual([{ type: 'answer', playerId: 'Player0', sdp: 'streamer answer' }]);
  });

  it('picks the first streamer a player’s token may join', () => {
    const node = new PsNode();
    const hidden = node.streamer('Hidden');
    const open = node.streamer('Open');
    const player = node.player(identity('u1', [{ room: 'ps:Open', join: true }]));
    player.send({ type: 'iceCandidate', candidate });
    expect(hidden.take()).toEqual([]);
    expect(open.takeTypes()).toEqual(['playerConnected', 'iceCandidate']);
  });

  it('disconnects the player (1005) when there is no streamer', () => {
    const node = new PsNode();
    const lonely = node.player();
    lonely.send({ type: 'offer', sdp: 'o' });
    expect(lonely.closed).toEqual({ code: 1005, reason: '' });
    expect(lonely.take()).toEqual([]);
    expect(node.sig.players.size).toBe(0);
  });

  it('sends subscribeFailed, then disconnects, when the first streamer is full', () => {
    const node = new PsNode({ config: { maxPlayersPerStreamer: 1 } });
    const streamer = node.streamer('S1');
    node.subscribed(streamer, 'S1');
    const late = node.player();
    late.send({ type: 'offer', sdp: 'o' });
    expect(late.take()).toEqual([{ type: 'subscribeFailed', message: 'Streamer S1 is full. Max players = 1.' }]);
    expect(late.closed).toEqual({ code: 1005, reason: '' });
    expect(streamer.take()).toEqual([]);
  });
});

describe('an SFU: a player upstream, a streamer downstream', () => {
  it('is listed everything, itself and unidentified streamers included, and subscribes with its own player id', () => {
    const node = new PsNode();
    const streamer = node.streamer('DefaultStreamer');
    node.connectStreamer();
    const sfu = node.streamer('SFU', 'SFU', 'SFU');
    sfu.send({ type: 'listStreamers' });
    expect(sfu.take()).toEqual([{ type: 'streamerList', ids: ['DefaultStreamer', 'UnknownStreamer', 'SFU'] }]);
    sfu.send({ type: 'subscribe', streamerId: 'DefaultStreamer' });
    expect(streamer.take()).toEqual([{ type: 'playerConnected', dataChannel: true, sfu: true, playerId: 'Player0' }]);
    streamer.send({ type: 'offer', playerId: 'Player0', sdp: 'streamer offer' });
    expect(sfu.take()).toEqual([{ type: 'offer', playerId: 'Player0', sdp: 'streamer offer' }]);
    sfu.send({ type: 'answer', sdp: 'sfu answer' });
    sfu.send({ type: 'answer', sdp: 'for its player', playerId: 'Player7' });
    expect(streamer.take()).toEqual([
      { type: 'answer', sdp: 'sfu answer', playerId: 'Player0' },
      { type: 'answer', sdp: 'for its player', playerId: 'Player7' },
    ]);
  });

  it('is told nothing when it subscribes to itself or to an unknown streamer', () => {
    const node = new PsNode();
    const sfu = node.streamer('SFU', 'SFU', 'SFU');
    sfu.send({ type: 'subscribe', streamerId: 'SFU' });
    sfu.send({ type: 'subscribe', streamerId: 'Nope' });
    expect(sfu.take()).toEqual([]);
    expect(node.sig.streamers.get('SFU')?.subscribers.size).toBe(0);
  });

  it('relays to its players without playerId, and back with their ids; data channels reach the streamer with sfuId', () => {
    const node = new PsNode();
    const streamer = node.streamer('DefaultStreamer');
    const sfu = node.streamer('SFU', 'SFU', 'SFU');
    sfu.send({ type: 'subscribe', streamerId: 'DefaultStreamer' });
    sfu.send({ type: 'startStreaming' });
    streamer.take();
    const { player, playerId } = node.subscribed(sfu, 'SFU');
    expect(playerId).toBe('Player1');
    sfu.send({ type: 'offer', playerId, sdp: 'sfu offer', sfu: true, scalabilityMode: 'L1T3' });
    sfu.send({ type: 'peerDataChannels', playerId, sendStreamId: 1, recvStreamId: 2 });
    expect(player.take()).toEqual([
      { type: 'offer', sdp: 'sfu offer', sfu: true, scalabilityMode: 'L1T3' },
      { type: 'peerDataChannels', sendStreamId: 1, recvStreamId: 2 },
    ]);
    player.send({ type: 'answer', sdp: 'player answer' });
    expect(sfu.take()).toEqual([{ type: 'answer', sdp: 'player answer', playerId }]);
    sfu.send({ type: 'streamerDataChannels', playerId, sendStreamId: 2, recvStreamId: 1 });
    sfu.send({ type: 'streamerDataChannels', sendStreamId: 3, recvStreamId: 4 });
    expect(streamer.take()).toEqual([
      { type: 'streamerDataChannels', playerId, sendStreamId: 2, recvStreamId: 1, sfuId: 'Player0' },
      { type: 'streamerDataChannels', sendStreamId: 3, recvStreamId: 4, sfuId: 'Player0', playerId: 'Player0' },
    ]);
  });

  it('counts an upstream message unroutable while the SFU is subscribed to nobody', () => {
    const node = new PsNode();
    const sfu = node.streamer('SFU', 'SFU', 'SFU');
    sfu.send({ type: 'answer', sdp: 'a' });
    sfu.send({ type: 'streamerDataChannels', sendStreamId: 1 });
    expect(node.drops.unroutable).toBe(2);
    expect(sfu.take()).toEqual([]);
  });

  it('counts against maxPlayersPerStreamer like a player (Epic’s set counts SFUs), and is told nothing when refused', () => {
    const node = new PsNode({ config: { maxPlayersPerStreamer: 1 } });
    const streamer = node.streamer('S1');
    const sfu = node.streamer('SFU', 'SFU', 'SFU');
    sfu.send({ type: 'subscribe', streamerId: 'S1' });
    expect(streamer.take()).toEqual([{ type: 'playerConnected', dataChannel: true, sfu: true, playerId: 'Player0' }]);
    const player = node.player();
    player.send({ type: 'subscribe', streamerId: 'S1' });
    expect(player.take()).toEqual([{ type: 'subscribeFailed', message: 'Streamer S1 is full. Max players = 1.' }]);
    sfu.send({ type: 'unsubscribe' });
    player.send({ type: 'subscribe', streamerId: 'S1' });
    expect(streamer.take()).toEqual([
      { type: 'playerDisconnected', playerId: 'Player0' },
      { type: 'playerConnected', dataChannel: true, sfu: false, playerId: 'Player1' },
    ]);
    // Once a player holds the slot an SFU is refused too, silently (SFUs are never sent subscribeFailed).
    const late = node.streamer('SFU2', 'SFU2', 'SFU');
    late.send({ type: 'subscribe', streamerId: 'S1' });
    expect(late.take()).toEqual([]);
    expect(streamer.take()).toEqual([]);
  });

  it('holds its own players to no limit: fanning out is what it is for', () => {
    const node = new PsNode({ config: { maxPlayersPerStreamer: 1 } });
    const sfu = node.streamer('SFU', 'SFU', 'SFU');
    node.subscribed(sfu, 'SFU');
    node.subscribed(sfu, 'SFU');
    node.subscribed(sfu, 'SFU');
    expect(node.sig.streamers.get('SFU')?.subscribers.size).toBe(3);
    expect(node.members('SFU')).toHaveLength(4);
  });
});
