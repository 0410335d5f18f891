import type { PsInbound } from '@heliograph/protocol';
import { FakeClock } from '@heliograph/common';
import { describe, expect, it } from 'vitest';
import { ErrorReporter } from '../shared/error-reporter.js';
import { createLogger } from '../shared/logger.js';
import { FakePsPeer } from '../test-support/fake-ps-peer.js';
import { PsNode } from '../test-support/ps-node.js';
import { HeldBucket } from '../transport/keyed-rate-limiter.js';
import { RequestQuota } from '../transport/request-limits.js';
import { TokenBucket } from '../transport/token-bucket.js';
import { newDropCounters, PsSocket, truncateUtf8, type PsSocketOptions } from './ps-socket.js';

/** What `PsSocket` handed to the error reporter: where, and the context (role, type). */
class RecordingReporter extends ErrorReporter {
  readonly reported: string[] = [];
  override report(where: string, err: unknown, context: Record<string, string | number | undefined> = {}): void {
    this.reported.push(`${where} ${String(err)} ${JSON.stringify(context)}`);
  }
}

const RATE = 10;
const BURST = 3;
const MAX_BUFFERED = 1000;

/**
 * A player `PsSocket` over a `FakePsPeer`, on fake time: 10 messages a second, a burst of 3. Its
 * handler answers a `ping` with a `pong` (as the signalling does), so the peer sees what got through;
 * `throw` in a ping's `time` field makes the handler throw instead.
 */
function open(overrides: Partial<PsSocketOptions> = {}, clock = new FakeClock()) {
  const logger = createLogger('silent');
  const errors = new RecordingReporter({ logger, clock });
  const drops = newDropCounters();
  const peer = new FakePsPeer();
  const socket = new PsSocket(peer.ws, '192.0.2.1', {
    role: 'player',
    clock,
    logger,
    drops,
    badMessages: 'ignore',
    maxBufferedBytes: MAX_BUFFERED,
    messagesPerSecond: RATE,
    messageBurst: BURST,
    maxDepth: 32,
    errors,
    ...overrides,
  });
  const handled: PsInbound[] = [];
  socket.onMessage((message) => {
    handled.push(message);
    if (message.type === 'ping') {
      if (message.time === -1) {
        throw new Error('handler bug');
      }
      socket.send({ type: 'pong', time: message.time });
    }
  });
  return { clock, errors, drops, peer, socket, handled };
}

/** Sends `count` pings; the times of the pongs the peer got back. */
function pings(peer: FakePsPeer, count: number): number[] {
  for (let i = 0; i < count; i++) {
    peer.send({ type: 'ping', time: i });
  }
  return peer.take().map((m) => Number(m.time));
}

/** Nested arrays `levels` deep under `key`: `{"type":"ping","key":[[…]]}`. */
function nested(levels: number, key = 'deep'): string {
  return `{"type":"ping","${key}":${'['.repeat(levels)}${']'.repeat(levels)}}`;
}

/** Bad input of every kind the dialect drops: the frame, the counter it goes to, the close reason Cirrus mode gives. */
const BAD_INPUT = [
  { what: 'invalid JSON', frame: '{not json', problem: 'parse', reason: 'Cannot parse' },
  { what: 'an array', frame: '[{"type":"ping"}]', problem: 'parse', reason: 'Not a JSON object' },
  { what: 'a string', frame: '"ping"', problem: 'parse', reason: 'Not a JSON object' },
  { what: 'null', frame: 'null', problem: 'parse', reason: 'Not a JSON object' },
  { what: 'an unknown type', frame: '{"type":"noSuchType"}', problem: 'unknown_type', reason: 'Unsupported message type' },
  { what: 'no type', frame: '{"noType":true}', problem: 'unknown_type', reason: 'Unsupported message type' },
  { what: 'a type another role sends', frame: '{"type":"endpointId","id":"S1"}', problem: 'unknown_type', reason: 'Unsupported message type' },
  { what: 'a field of the wrong type', frame: '{"type":"subscribe","streamerId":42}', problem: 'invalid', reason: 'Invalid subscribe: /streamerId' },
  { what: 'nesting past maxDepth', frame: nested(32), problem: 'invalid', reason: 'The message nests deeper than 32 levels' },
] as const;

describe('bad input, badMessages: ignore (Wilbur)', () => {
  it.each(BAD_INPUT)('drops $what silently and counts it as $problem', ({ frame, problem }) => {
    const { peer, drops, handled } = open();
    peer.sendRaw(frame);
    expect(handled).toEqual([]);
    expect(peer.take()).toEqual([]);
    expect(peer.closed).toBeUndefined();
    expect(drops).toEqual({ ...newDropCounters(), [problem]: 1 });
  });

  it('goes on handing on good messages after bad ones, extra fields untouched', () => {
    const { peer, handled } = open();
    peer.sendRaw('{not json');
    peer.sendRaw(nested(31));
    peer.send({ type: 'offer', sdp: '', playerId: '', future: { field: 1 } });
    expect(handled.map((m) => m.type)).toEqual(['ping', 'offer']);
    expect(handled[1]).toEqual({ type: 'offer', sdp: '', playerId: '', future: { field: 1 } });
    expect(peer.take()).toEqual([{ type: 'pong' }]);
  });
});

describe('bad input, badMessages: close (Cirrus)', () => {
  it.each(BAD_INPUT)('closes on $what with 1008 and says why, counting it as $problem', ({ frame, problem, reason }) => {
    const { peer, drops, handled } = open({ badMessages: 'close' });
    peer.sendRaw(frame);
    expect(handled).toEqual([]);
    expect(peer.closed?.code).toBe(1008);
    expect(peer.closed?.reason.startsWith(reason)).toBe(true);
    expect(drops).toEqual({ ...newDropCounters(), [problem]: 1 });
  });

  it('reads nothing the peer sends while the close handshake is under way, and counts nothing', () => {
    const { peer, drops, handled } = open({ badMessages: 'close' });
    peer.sendRaw('{not json');
    peer.send({ type: 'ping', time: 1 });
    peer.sendRaw('{still not json');
    expect(handled).toEqual([]);
    expect(peer.take()).toEqual([]);
    expect(drops).toEqual({ ...newDropCounters(), parse: 1 });
  });

  it('cuts a reason longer than a close frame carries to 123 bytes', () => {
    const { peer } = open({ badMessages: 'close' });
    peer.sendRaw(nested(40, 'k'.repeat(150)));
    const reason = peer.closed?.reason ?? '';
    expect(Buffer.byteLength(reason)).toBe(123);
    expect(reason).toBe(`The message nests deeper than 32 levels (the limit is limits.maxDepth) at /${'k'.repeat(150)}/0/0`.slice(0, 123));
  });

  it('passes a streamer’s kick reason on cut between code points: never half an emoji, which a peer would see as U+FFFD', () => {
    const node = new PsNode();
    const streamer = node.streamer('S1');
    const { player, playerId } = node.subscribed(streamer, 'S1');
    streamer.send({ type: 'disconnectPlayer', playerId, reason: `${'a'.repeat(120)}📞📞` });
    expect(player.closed).toEqual({ code: 1011, reason: 'a'.repeat(120) });
  });

  it('cuts between code points: no half of a multi-byte character, no U+FFFD from a split surrogate pair', () => {
    for (const [text, kept] of [
      [`${'a'.repeat(122)}é`, 'a'.repeat(122)], // é is 2 bytes: it would end at byte 124
      [`${'a'.repeat(121)}中x`, `${'a'.repeat(121)}`], // 中 is 3 bytes
      [`${'a'.repeat(120)}📞📞`, `${'a'.repeat(120)}`], // 📞 is 4 bytes and two UTF-16 units
      [`${'a'.repeat(119)}📞📞`, `${'a'.repeat(119)}📞`],
      ['é'.repeat(100), 'é'.repeat(61)],
    ] as const) {
      const cut = truncateUtf8(text, 123);
      expect(cut).toBe(kept);
      expect(Buffer.byteLength(cut)).toBeLessThanOrEqual(123);
    }
    expect(truncateUtf8('short', 123)).toBe('short');
  });

  it('is what pixelStreaming.badMessages sets for every dialect socket of a node', () => {
    const node = new PsNode({ config: { badMessages: 'close' } });
    const streamer = node.streamer('S1');
    const { player } = node.subscribed(streamer, 'S1');
    player.sendRaw('{not json');
    expect(player.closed).toEqual({ code: 1008, reason: 'Cannot parse' });
    expect(node.drops.parse).toBe(1);
    streamer.send({ type: 'stopStreaming' });
    expect(streamer.closed).toEqual({ code: 1008, reason: 'Unsupported message type' });
  });
});

describe('the per-connection rate limit', () => {
  it('lets a burst through, then drops and counts what is over it, without closing even in Cirrus mode', () => {
    const { peer, drops } = open({ badMessages: 'close' });
    expect(pings(peer, BURST + 2)).toEqual([0, 1, 2]);
    expect(drops).toEqual({ ...newDropCounters(), rate_limited: 2 });
    expect(peer.closed).toBeUndefined();
  });

  it('refills at messagesPerSecond on the clock, never above the burst', () => {
    const { peer, clock } = open();
    pings(peer, BURST);
    clock.advance(1000 / RATE - 1);
    expect(pings(peer, 1)).toEqual([]);
    clock.advance(1);
    expect(pings(peer, 2)).toEqual([0]);
    clock.advance(60_000);
    expect(pings(peer, BURST + 1)).toEqual([0, 1, 2]);
  });

  it('counts a frame over the rate as rate_limited before reading it: bad input over the rate neither counts as bad nor closes', () => {
    const { peer, drops } = open({ badMessages: 'close' });
    pings(peer, BURST);
    peer.sendRaw('{not json');
    expect(peer.closed).toBeUndefined();
    expect(drops).toEqual({ ...newDropCounters(), rate_limited: 1 });
  });

  it('takes from the shared quota only what its own bucket allowed, and drops what the quota refuses', () => {
    const clock = new FakeClock();
    // One address's bucket of 5, held by two sockets from that address.
    const address = new TokenBucket(1, 5, clock.now());
    const quota = () => new RequestQuota(undefined, new HeldBucket(address, () => {}));
    const greedy = open({ quota: quota() }, clock);
    const polite = open({ quota: quota() }, clock);
    expect(pings(greedy.peer, 10)).toEqual([0, 1, 2]);
    expect(pings(polite.peer, BURST)).toEqual([0, 1]);
    expect(greedy.drops.rate_limited).toBe(7);
    expect(polite.drops.rate_limited).toBe(1);
  });

  it('gives its shared buckets back once the connection has closed, not when it starts closing', () => {
    let released = 0;
    const quota = new RequestQuota(undefined, new HeldBucket(new TokenBucket(RATE, BURST, 0), () => released++));
    const { peer, socket } = open({ quota });
    socket.close(1008, 'bye');
    expect(released).toBe(0);
    peer.hangUp();
    socket.terminate();
    expect(released).toBe(1);
  });
});

describe('a peer that does not read (slow consumer)', () => {
  it('still gets messages with up to maxBufferedBytes queued for it', () => {
    const { peer, socket } = open();
    peer.bufferedAmount = MAX_BUFFERED;
    socket.send({ type: 'pong', time: 1 });
    expect(peer.take()).toEqual([{ type: 'pong', time: 1 }]);
    expect(peer.closed).toBeUndefined();
  });

  it('is closed with 4508 past maxBufferedBytes; that message and all after it are not sent', () => {
    const { peer, socket } = open();
    const seen: string[] = [];
    socket.watcher = (direction, type) => seen.push(`${direction} ${type}`);
    peer.bufferedAmount = MAX_BUFFERED + 1;
    socket.send({ type: 'pong', time: 1 });
    expect(peer.closed).toEqual({ code: 4508, reason: 'too much data buffered' });
    peer.bufferedAmount = 0;
    socket.send({ type: 'pong', time: 2 });
    expect(peer.take()).toEqual([]);
    expect(seen).toEqual([]);
    expect(socket.closed).toBe(true);
  });
});

describe('closing', () => {
  it('sends no code (the peer sees 1005) when none is given, and keeps the first close', () => {
    const { peer, socket } = open();
    socket.close();
    socket.close(4508, 'too much data buffered');
    expect(peer.closed).toEqual({ code: 1005, reason: '' });
  });

  it('once the peer has hung up: runs onClose, sends nothing, reads nothing', () => {
    const { peer, socket, handled, drops } = open();
    let closes = 0;
    socket.onClose(() => closes++);
    peer.hangUp();
    expect([closes, socket.closed]).toEqual([1, true]);
    socket.send({ type: 'pong' });
    peer.send({ type: 'ping', time: 1 });
    expect(peer.take()).toEqual([]);
    expect(handled).toEqual([]);
    expect(drops).toEqual(newDropCounters());
  });
});

describe('the watcher and the handler', () => {
  it('sees each message read (its frame size) and written (its UTF-8 JSON size), and no dropped frame', () => {
    const { peer, socket } = open();
    const seen: unknown[] = [];
    socket.watcher = (direction, type, message, bytes) => seen.push([direction, type, message, bytes]);
    const frame = '{ "type": "ping", "time": 7, "note": "é" }';
    peer.sendRaw(frame);
    peer.sendRaw('{not json');
    peer.send({ type: 'noSuchType' });
    socket.send({ type: 'subscribeFailed', message: 'Streamer « S1 » is full' });
    const pong = JSON.stringify({ type: 'pong', time: 7 });
    const failed = JSON.stringify({ type: 'subscribeFailed', message: 'Streamer « S1 » is full' });
    expect(seen).toEqual([
      ['in', 'ping', { type: 'ping', time: 7, note: 'é' }, Buffer.byteLength(frame)],
      ['out', 'pong', { type: 'pong', time: 7 }, pong.length],
      ['out', 'subscribeFailed', { type: 'subscribeFailed', message: 'Streamer « S1 » is full' }, failed.length + 2],
    ]);
    expect(Buffer.byteLength(frame)).toBe(frame.length + 1);
  });

  it('reports a handler that throws with its role and type, and goes on reading the connection', () => {
    const { peer, errors, drops } = open();
    peer.send({ type: 'ping', time: -1 });
    peer.send({ type: 'ping', time: 2 });
    expect(errors.reported).toEqual(['pixel-streaming Error: handler bug {"role":"player","type":"ping"}']);
    expect(peer.take()).toEqual([{ type: 'pong', time: 2 }]);
    expect(peer.closed).toBeUndefined();
    expect(drops).toEqual(newDropCounters());
  });

  it('takes any frame as a sign of life for the keepalive, even one it drops, and a WebSocket pong', () => {
    const { peer, socket } = open();
    for (const frame of ['{not json', '{"type":"ping"}', '{"type":"ping"}', '{"type":"ping"}', '{"type":"ping"}']) {
      socket.alive = false;
      peer.sendRaw(frame);
      expect(socket.alive).toBe(true);
    }
    socket.alive = false;
    peer.pong();
    expect(socket.alive).toBe(true);
  });
});
