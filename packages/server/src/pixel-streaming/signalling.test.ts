import { describe, expect, it } from 'vitest';
import { identity } from '../test-support/room-fixtures.js';
import { PsNode } from '../test-support/ps-node.js';

/** §3.2–§4.4 of the reference on one node: players, the streamer list, subscriptions, kicks and departures. */
describe('players and the streamer list', () => {
  it('sends a player config at once and nothing else, with ids Player0, Player1…', () => {
    const node = new PsNode();
    const first = node.connectPlayer();
    const config = first.take();
    expect(config).toEqual([{ type: 'config', peerConnectionOptions: {}, protocolVersion: '1.3.0' }]);
    expect(Object.keys(config[0]!)).toEqual(['type', 'peerConnectionOptions', 'protocolVersion']);
    node.connectPlayer();
    expect([...node.sig.players.keys()]).toEqual(['Player0', 'Player1']);
  });

  it('lists identified streamers in registration order, never an unidentified one', () => {
    const node = new PsNode();
    node.connectStreamer();
    node.streamer('B');
    node.streamer('A');
    const player = node.player();
    player.send({ type: 'listStreamers' });
    expect(player.take()).toEqual([{ type: 'streamerList', ids: ['B', 'A'] }]);
  });

  it('lists to a player with a token only the streamers its grants let it join', () => {
    const node = new PsNode();
    node.streamer('Public');
    node.streamer('Private');
    const player = node.player(identity('u1', [{ room: 'ps:Public', join: true }]));
    player.send({ type: 'listStreamers' });
    expect(player.take()).toEqual([{ type: 'streamerList', ids: ['Public'] }]);
  });

  it('answers an empty list when there is no streamer', () => {
    const node = new PsNode();
    const player = node.player();
    player.send({ type: 'listStreamers' });
    expect(player.take()).toEqual([{ type: 'streamerList', ids: [] }]);
  });
});

describe('the signalling inspector', () => {
  it('is told each message in and out, with the presence peer of its socket once it has one', () => {
    const seen: string[] = [];
    const node = new PsNode({ inspect: (peer, direction, type, _message, bytes) => seen.push(`${peer?.userId ?? '-'} ${direction} ${type} ${bytes}`) });
    const streamer = node.streamer('S1');
    node.subscribed(streamer, 'S1');
    const confirm = JSON.stringify({ type: 'endpointIdConfirm', committedId: 'S1' }).length;
    const subscribe = JSON.stringify({ type: 'subscribe', streamerId: 'S1' }).length;
    expect(seen.map((line) => line.replace(/ \d+$/, ''))).toEqual([
      '- out identify',
      '- out config',
      '- in endpointId',
      'ps-streamer:S1 out endpointIdConfirm',
      '- out config',
      '- in subscribe',
      'ps-streamer:S1 out playerConnected',
    ]);
    expect(seen[3]).toBe(`ps-streamer:S1 out endpointIdConfirm ${confirm}`);
    expect(seen[5]).toBe(`- in subscribe ${subscribe}`);
  });
});

describe('subscribe', () => {
  it('tells the streamer playerConnected in Epic’s key order and puts the player in its presence room', () => {
    const node = new PsNode();
    const streamer = node.streamer('S1');
    const player = node.player();
    player.send({ type: 'subscribe', streamerId: 'S1' });
    const connected = streamer.take();
    expect(connected).toEqual([{ type: 'playerConnected', dataChannel: true, sfu: false, playerId: 'Player0' }]);
    expect(Object.keys(connected[0]!)).toEqual(['type', 'dataChannel', 'sfu', 'playerId']);
    expect(player.take()).toEqual([]);
    expect(node.members('S1')).toEqual(['ps-streamer:S1', 'ps-player:Player0']);
  });

  it('answers subscribeFailed for an unknown streamer', () => {
    const node = new PsNode();
    const player = node.player();
    player.send({ type: 'subscribe', streamerId: 'Nope' });
    expect(player.take()).toEqual([{ type: 'subscribeFailed', message: 'Streamer Nope does not exist.' }]);
  });

  it('answers subscribeFailed when the player’s token does not grant the streamer, and the streamer hears nothing', () => {
    const node = new PsNode();
    const streamer = node.streamer('Private');
    const player = node.player(identity('u1', [{ room: 'ps:Public', join: true }]));
    player.send({ type: 'subscribe', streamerId: 'Private' });
    expect(player.take()).toEqual([{ type: 'subscribeFailed', message: 'Not authorized to subscribe to streamer Private.' }]);
    expect(streamer.take()).toEqual([]);
  });

  it('reaches an unidentified streamer by its placeholder id; the player joins presence once it identifies', () => {
    const node = new PsNode();
    const streamer = node.connectStreamer();
    streamer.take();
    const { player, playerId } = node.subscribed(streamer, 'UnknownStreamer');
    expect(node.members('UnknownStreamer')).toBeUndefined();
    streamer.send({ type: 'endpointId', id: 'S1' });
    expect(player.take()).toEqual([{ type: 'streamerIdChanged', newID: 'S1' }]);
    expect(node.members('S1')).toEqual(['ps-streamer:S1', `ps-player:${playerId}`]);
  });

  it('holds maxPlayersPerStreamer and frees the slot when a player leaves', () => {
    const node = new PsNode({ config: { maxPlayersPerStreamer: 1 } });
    const streamer = node.streamer('S1');
    const { player: first, playerId } = node.subscribed(streamer, 'S1');
    const second = node.player();
    second.send({ type: 'subscribe', streamerId: 'S1' });
    expect(second.take()).toEqual([{ type: 'subscribeFailed', message: 'Streamer S1 is full. Max players = 1.' }]);
    expect(streamer.take()).toEqual([]);
    first.hangUp();
    expect(streamer.take()).toEqual([{ type: 'playerDisconnected', playerId }]);
    second.send({ type: 'subscribe', streamerId: 'S1' });
    expect(streamer.take()).toEqual([{ type: 'playerConnected', dataChannel: true, sfu: false, playerId: 'Player1' }]);
  });

  it('without a player limit, a full presence room refuses the player with the room’s limit less the streamer', () => {
    const node = new PsNode({ maxPeers: 3 });
    const streamer = node.streamer('S1');
    node.subscribed(streamer, 'S1');
    node.subscribed(streamer, 'S1');
    const late = node.player();
    late.send({ type: 'subscribe', streamerId: 'S1' });
    expect(late.take()).toEqual([{ type: 'subscribeFailed', message: 'Streamer S1 is full. Max players = 2.' }]);
    expect(streamer.take()).toEqual([]);
    expect(node.sig.streamers.get('S1')?.subscribers.size).toBe(2);
  });

  it('moves a re-subscribing player: the old streamer hears playerDisconnected, the new one playerConnected', () => {
    const node = new PsNode();
    const a = node.streamer('A');
    const b = node.streamer('B');
    const { player, playerId } = node.subscribed(a, 'A');
    player.send({ type: 'subscribe', streamerId: 'B' });
    expect(a.take()).toEqual([{ type: 'playerDisconnected', playerId }]);
    expect(b.take()).toEqual([{ type: 'playerConnected', dataChannel: true, sfu: false, playerId }]);
    expect(node.members('A')).toEqual(['ps-streamer:A']);
    expect(node.members('B')).toEqual(['ps-streamer:B', `ps-player:${playerId}`]);
  });
});

describe('unsubscribe and player departures', () => {
  it('unsubscribe: the streamer hears playerDisconnected once; a second unsubscribe does nothing', () => {
    const node = new PsNode();
    const streamer = node.streamer('S1');
    const { player, playerId } = node.subscribed(streamer, 'S1');
    player.send({ type: 'unsubscribe' });
    expect(streamer.take()).toEqual([{ type: 'playerDisconnected', playerId }]);
    player.send({ type: 'unsubscribe' });
    expect(streamer.take()).toEqual([]);
    expect(player.take()).toEqual([]);
    expect(player.closed).toBeUndefined();
    expect(node.members('S1')).toEqual(['ps-streamer:S1']);
  });

  it('a player hanging up: the streamer hears playerDisconnected, and the player is gone from the node', () => {
    const node = new PsNode();
    const streamer = node.streamer('S1');
    const { player, playerId } = node.subscribed(streamer, 'S1');
    player.hangUp();
    expect(streamer.take()).toEqual([{ type: 'playerDisconnected', playerId }]);
    expect(node.sig.players.has(playerId)).toBe(false);
    expect(node.members('S1')).toEqual(['ps-streamer:S1']);
  });

  it('a presence kick (control API) closes the player; its streamer hears playerDisconnected once it is closed', () => {
    const node = new PsNode();
    const streamer = node.streamer('S1');
    const { player, playerId } = node.subscribed(streamer, 'S1');
    node.rooms.kick(node.sig.players.get(playerId)!.peer!, 'moderated');
    expect(player.closed).toEqual({ code: 1005, reason: '' });
    player.hangUp();
    expect(streamer.take()).toEqual([{ type: 'playerDisconnected', playerId }]);
    expect(node.sig.players.size).toBe(0);
  });
});

describe('disconnectPlayer (kick)', () => {
  it('closes the player with 1011 and the reason; the streamer hears playerDisconnected; others stay', () => {
    const node = new PsNode();
    const streamer = node.streamer('S1');
    const { player: kicked, playerId } = node.subscribed(streamer, 'S1');
    const { player: kept } = node.subscribed(streamer, 'S1');
    streamer.send({ type: 'disconnectPlayer', playerId, reason: 'AFK' });
    expect(kicked.closed).toEqual({ code: 1011, reason: 'AFK' });
    expect(streamer.take()).toEqual([{ type: 'playerDisconnected', playerId }]);
    expect(kept.closed).toBeUndefined();
    expect(kept.take()).toEqual([]);
    // The close completing afterwards tells the streamer nothing more.
    kicked.hangUp();
    expect(streamer.take()).toEqual([]);
    expect(node.sig.players.has(playerId)).toBe(false);
  });

  it('closes with 1011 and an empty reason when the streamer gives none', () => {
    const node = new PsNode();
    const streamer = node.streamer('S1');
    const { player, playerId } = node.subscribed(streamer, 'S1');
    streamer.send({ type: 'disconnectPlayer', playerId });
    expect(player.closed).toEqual({ code: 1011, reason: '' });
  });

  it('ignores a kick of another streamer’s player or an unknown id, counting it unroutable', () => {
    const node = new PsNode();
    const a = node.streamer('A');
    const b = node.streamer('B');
    const { player, playerId } = node.subscribed(b, 'B');
    a.send({ type: 'disconnectPlayer', playerId, reason: 'not yours' });
    a.send({ type: 'disconnectPlayer', playerId: 'Player99' });
    expect(player.closed).toBeUndefined();
    expect(a.take()).toEqual([]);
    expect(b.take()).toEqual([]);
    expect(node.drops.unroutable).toBe(2);
  });
});

describe('a streamer leaving', () => {
  it('closes each of its players with no code (1005), telling them nothing; other streamers’ players stay', () => {
    const node = new PsNode();
    const streamer = node.streamer('S1');
    const other = node.streamer('S2');
    const { player: p1 } = node.subscribed(streamer, 'S1');
    const { player: p2 } = node.subscribed(streamer, 'S1');
    const { player: elsewhere } = node.subscribed(other, 'S2');
    streamer.hangUp();
    expect(p1.closed).toEqual({ code: 1005, reason: '' });
    expect(p2.closed).toEqual({ code: 1005, reason: '' });
    // Wilbur sends streamerDisconnected to SFUs only.
    expect(p1.take()).toEqual([]);
    expect(elsewhere.closed).toBeUndefined();
    expect(other.take()).toEqual([]);
    expect([...node.sig.players.keys()]).toEqual(['Player2']);
    expect(node.members('S1') ?? []).toEqual([]);
    elsewhere.send({ type: 'listStreamers' });
    expect(elsewhere.take()).toEqual([{ type: 'streamerList', ids: ['S2'] }]);
    expect(node.eventLog).toEqual(['connected S1', 'connected S2', 'disconnected S1 closed']);
  });

  it('answers subscribeFailed to a player that subscribes to it afterwards', () => {
    const node = new PsNode();
    node.streamer('S1').hangUp();
    const player = node.player();
    player.send({ type: 'subscribe', streamerId: 'S1' });
    expect(player.take()).toEqual([{ type: 'subscribeFailed', message: 'Streamer S1 does not exist.' }]);
  });
});

describe('SFU departures', () => {
  /** A streamer, an SFU subscribed to it and streaming, and two players of the SFU. */
  function relayed() {
    const node = new PsNode();
    const streamer = node.streamer('DefaultStreamer');
    const sfu = node.streamer('SFU', 'SFU', 'SFU');
    sfu.send({ type: 'subscribe', streamerId: 'DefaultStreamer' });
    sfu.send({ type: 'startStreaming' });
    streamer.take();
    const first = node.subscribed(sfu, 'SFU');
    const second = node.subscribed(sfu, 'SFU');
    return { node, streamer, sfu, first, second };
  }

  it('upstream gone: the SFU hears streamerDisconnected, then playerDisconnected for each of its players, who are closed', () => {
    const { node, streamer, sfu, first, second } = relayed();
    streamer.hangUp();
    expect(sfu.take()).toEqual([
      { type: 'streamerDisconnected' },
      { type: 'playerDisconnected', playerId: first.playerId },
      { type: 'playerDisconnected', playerId: second.playerId },
    ]);
    expect(first.player.closed).toEqual({ code: 1005, reason: '' });
    expect(second.player.closed).toEqual({ code: 1005, reason: '' });
    // The SFU stays, unlisted to players until it streams again.
    expect(sfu.closed).toBeUndefined();
    const next = node.player();
    next.send({ type: 'listStreamers' });
    expect(next.take()).toEqual([{ type: 'streamerList', ids: [] }]);
    sfu.send({ type: 'startStreaming' });
    next.send({ type: 'listStreamers' });
    expect(next.take()).toEqual([{ type: 'streamerList', ids: ['SFU'] }]);
  });

  it('stopStreaming: the SFU hears playerDisconnected for each of its players, who are closed; it is unlisted', () => {
    const { node, streamer, sfu, first, second } = relayed();
    sfu.send({ type: 'stopStreaming' });
    expect(sfu.take()).toEqual([
      { type: 'playerDisconnected', playerId: first.playerId },
      { type: 'playerDisconnected', playerId: second.playerId },
    ]);
    expect(first.player.closed).toEqual({ code: 1005, reason: '' });
    expect(streamer.take()).toEqual([]);
    const next = node.player();
    next.send({ type: 'listStreamers' });
    expect(next.take()).toEqual([{ type: 'streamerList', ids: ['DefaultStreamer'] }]);
  });

  it('the SFU leaving: its upstream hears playerDisconnected for the SFU’s player id, and its players are closed', () => {
    const { node, streamer, sfu, first } = relayed();
    sfu.hangUp();
    expect(streamer.take()).toEqual([{ type: 'playerDisconnected', playerId: 'Player0' }]);
    expect(first.player.closed).toEqual({ code: 1005, reason: '' });
    expect([...node.sig.players.keys()]).toEqual([]);
    expect(node.members('DefaultStreamer')).toEqual(['ps-streamer:DefaultStreamer']);
    expect(node.eventLog).toEqual(['connected DefaultStreamer', 'connected SFU', 'disconnected SFU closed']);
  });
});
