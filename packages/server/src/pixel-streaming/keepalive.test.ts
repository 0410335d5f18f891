import { describe, expect, it } from 'vitest';
import { createLogger } from '../shared/logger.js';
import { PsNode } from '../test-support/ps-node.js';
import { PsKeepalive } from './keepalive.js';

/** §4.5 of the reference: server pings to players (UE 5.6+) and a liveness check on streamers, on fake time. */
const INTERVAL = 30_000;

function keepalive(node: PsNode, intervals: { players?: number; streamers?: number } = {}): PsKeepalive {
  const k = new PsKeepalive(node.sig, {
    clock: node.clock,
    logger: createLogger('silent'),
    playerPingIntervalMs: intervals.players ?? INTERVAL,
    streamerPingIntervalMs: intervals.streamers ?? INTERVAL,
  });
  k.start();
  return k;
}

describe('player keepalive', () => {
  it('pings players with the server time each interval, and drops one silent since the last ping (1006)', () => {
    const node = new PsNode();
    const streamer = node.streamer('S1');
    const { player: silent, playerId } = node.subscribed(streamer, 'S1');
    const { player: lively } = node.subscribed(streamer, 'S1');
    keepalive(node, { streamers: 0 });
    node.clock.advance(INTERVAL - 1);
    expect(lively.take()).toEqual([]);
    node.clock.advance(1);
    const ping = { type: 'ping', time: node.clock.now() };
    expect(silent.take()).toEqual([ping]);
    expect(lively.take()).toEqual([ping]);
    lively.send({ type: 'pong', time: ping.time });
    node.clock.advance(INTERVAL);
    expect(silent.closed).toEqual({ code: 1006, reason: '' });
    expect(silent.take()).toEqual([]);
    expect(streamer.take()).toEqual([{ type: 'playerDisconnected', playerId }]);
    expect(node.sig.players.has(playerId)).toBe(false);
    expect(lively.take()).toEqual([{ type: 'ping', time: node.clock.now() }]);
    expect(lively.closed).toBeUndefined();
  });

  it('takes any message as an answer, not only pong', () => {
    const node = new PsNode();
    const player = node.player();
    keepalive(node, { streamers: 0 });
    node.clock.advance(INTERVAL);
    player.send({ type: 'listStreamers' });
    node.clock.advance(INTERVAL);
    expect(player.closed).toBeUndefined();
    expect(player.takeTypes()).toEqual(['ping', 'streamerList', 'ping']);
  });

  it('sends no ping message to streamers or SFUs, whose player side is checked as a streamer', () => {
    const node = new PsNode();
    const streamer = node.streamer('S1');
    const sfu = node.streamer('SFU', 'SFU', 'SFU');
    sfu.send({ type: 'subscribe', streamerId: 'S1' });
    streamer.take();
    keepalive(node, { streamers: 0 });
    node.clock.advance(3 * INTERVAL);
    expect(streamer.take()).toEqual([]);
    expect(sfu.take()).toEqual([]);
    expect(sfu.closed).toBeUndefined();
  });
});

describe('streamer keepalive', () => {
  it('sends WebSocket pings and drops a streamer silent for a whole interval: 1006, its players closed, reason timeout', () => {
    const node = new PsNode();
    const deaf = node.streamer('Deaf');
    const alive = node.streamer('Alive');
    const { player } = node.subscribed(deaf, 'Deaf');
    keepalive(node, { players: 0 });
    node.clock.advance(INTERVAL);
    expect([deaf.pings, alive.pings]).toEqual([1, 1]);
    alive.pong();
    node.clock.advance(INTERVAL);
    expect(deaf.closed).toEqual({ code: 1006, reason: '' });
    expect(player.closed).toEqual({ code: 1005, reason: '' });
    expect(alive.closed).toBeUndefined();
    expect(alive.pings).toBe(2);
    expect(node.eventLog).toEqual(['connected Deaf', 'connected Alive', 'disconnected Deaf timeout']);
    expect(node.sig.streamers.list().map((s) => s.id)).toEqual(['Alive']);
  });

  it('takes any frame from a streamer as a sign of life, and drops an unidentified one without an event', () => {
    const node = new PsNode();
    const talking = node.streamer('S1');
    const anonymous = node.connectStreamer();
    const sfu = node.streamer('SFU', 'SFU', 'SFU');
    keepalive(node, { players: 0 });
    node.clock.advance(INTERVAL);
    talking.send({ type: 'ping', time: 1 });
    sfu.pong();
    node.clock.advance(INTERVAL);
    expect(talking.closed).toBeUndefined();
    expect(sfu.closed).toBeUndefined();
    expect(anonymous.closed).toEqual({ code: 1006, reason: '' });
    expect(node.eventLog).toEqual(['connected S1', 'connected SFU']);
  });
});

describe('keepalive switches', () => {
  it('pings nobody when both intervals are 0', () => {
    const node = new PsNode();
    const streamer = node.streamer('S1');
    const player = node.player();
    keepalive(node, { players: 0, streamers: 0 });
    node.clock.advance(20 * INTERVAL);
    expect(player.take()).toEqual([]);
    expect(streamer.pings).toBe(0);
    expect(player.closed).toBeUndefined();
    expect(streamer.closed).toBeUndefined();
  });

  it('stops pinging after stop()', () => {
    const node = new PsNode();
    const streamer = node.streamer('S1');
    const player = node.player();
    const k = keepalive(node);
    node.clock.advance(INTERVAL);
    k.stop();
    node.clock.advance(10 * INTERVAL);
    expect(player.takeTypes()).toEqual(['ping']);
    expect(streamer.pings).toBe(1);
    expect(player.closed).toBeUndefined();
    expect(streamer.closed).toBeUndefined();
  });
});
