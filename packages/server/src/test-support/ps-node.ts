import type { PsInbound } from '@heliograph/protocol';
import type { FakeClock } from '@heliograph/common';
import { Value } from 'typebox/value';
import type { Identity } from '../auth/identity.js';
import { PixelStreamingConfigSchema, type PixelStreamingConfig } from '../pixel-streaming/config.js';
import type { StreamerCredential } from '../pixel-streaming/endpoints.js';
import { PixelStreamingEvents } from '../pixel-streaming/events.js';
import { MessageGate } from '../pixel-streaming/message-gate.js';
import { handlePlayerMessage, handleSfuMessage, handleStreamerMessage } from '../pixel-streaming/message-handlers.js';
import { peerOptionsProvider } from '../pixel-streaming/peer-options.js';
import { Presence, presenceRoomId } from '../pixel-streaming/presence.js';
import { newDropCounters, PsSocket } from '../pixel-streaming/ps-socket.js';
import { PsSignalling, type PsInspect } from '../pixel-streaming/signalling.js';
import type { StreamerIdAuthorizer } from '../pixel-streaming/streamer-ids.js';
import { LocalMembership, type RoomMembership } from '../rooms/room-membership.js';
import type { Rooms } from '../rooms/rooms.js';
import { ErrorReporter } from '../shared/error-reporter.js';
import { createLogger } from '../shared/logger.js';
import { FakePsPeer, type PsMessage } from './fake-ps-peer.js';
import { roomsOnFakeTime } from './room-fixtures.js';

/** Where every fake peer connects from. */
export const PEER_ADDRESS = '192.0.2.1';

/** A handler that throws fails the test where the frame was sent, instead of being logged. */
class ThrowingReporter extends ErrorReporter {
  override report(_where: string, err: unknown): void {
    throw err;
  }
}

export interface PsNodeOptions {
  /** `pixelStreaming.*` over the schema's defaults. */
  config?: Partial<PixelStreamingConfig>;
  /** `rooms.maxPeers`: the presence room limit when `maxPlayersPerStreamer` is 0. */
  maxPeers?: number;
  authorizeStreamerId?: StreamerIdAuthorizer;
  inspect?: PsInspect;
  /** Who decides presence joins; by default this node at once (`LocalMembership`). */
  membership?: (rooms: Rooms) => RoomMembership;
}

/**
 * One node's Pixel Streaming signalling without sockets, built as `PsGateway` builds it (real
 * `Rooms`, `Presence` and `LocalMembership`, FakeClock, `Player0`, `Player1`… ids), each
 * connection a real `PsSocket` and `MessageGate` over a `FakePsPeer` the test plays.
 */
export class PsNode {
  readonly clock: FakeClock;
  readonly rooms: Rooms;
  readonly config: PixelStreamingConfig;
  readonly events = new PixelStreamingEvents(createLogger('silent'));
  readonly sig: PsSignalling;
  /** `streamer.*` events as short lines: `connected S1`, `renamed New Old`, `disconnected S1 closed`. */
  readonly eventLog: string[] = [];
  readonly #errors: ErrorReporter;

  constructor(options: PsNodeOptions = {}) {
    const { clock, rooms } = roomsOnFakeTime({ maxPeers: options.maxPeers ?? 100, emptyTimeoutMs: 1000 });
    this.clock = clock;
    this.rooms = rooms;
    this.config = Value.Default(PixelStreamingConfigSchema, structuredClone(options.config ?? {})) as PixelStreamingConfig;
    const logger = createLogger('silent');
    this.#errors = new ThrowingReporter({ logger, clock });
    const presence = new Presence({
      rooms,
      logger,
      maxPlayersPerStreamer: this.config.maxPlayersPerStreamer,
      onDetached: (who) => who.socket.close(),
      membership: options.membership?.(rooms) ?? new LocalMembership(rooms),
    });
    this.sig = new PsSignalling({
      config: this.config,
      clock,
      logger,
      presence,
      events: this.events,
      drops: newDropCounters(),
      peerOptions: peerOptionsProvider({ configured: this.config.peerConnectionOptions, iceServers: [], turn: { urls: [], ttlSeconds: 3600 }, clock }),
      authorizeStreamerId: options.authorizeStreamerId,
      inspect: options.inspect,
    });
    this.events.on('streamer.connected', (e) => this.eventLog.push(`connected ${e.streamerId}`));
    this.events.on('streamer.renamed', (e) => this.eventLog.push(`renamed ${e.streamerId} ${e.previousId}`));
    this.events.on('streamer.disconnected', (e) => this.eventLog.push(`disconnected ${e.streamerId} ${e.reason}`));
  }

  get drops() {
    return this.sig.opts.drops;
  }

  /** A streamer or SFU connection, as `PsGateway.#open` makes one; nothing read yet. */
  connectStreamer(type: 'Streamer' | 'SFU' = 'Streamer', credential: StreamerCredential = { kind: 'none' }): FakePsPeer {
    const { peer, socket, gate } = this.#open(type === 'SFU' ? 'sfu' : 'streamer');
    const streamer = this.sig.addStreamer(socket, type, credential);
    gate.open((msg) => (type === 'SFU' ? handleSfuMessage : handleStreamerMessage)(this.sig, streamer, msg));
    return peer;
  }

  /** A player connection; nothing read yet. */
  connectPlayer(identity?: Identity): FakePsPeer {
    const { peer, socket, gate } = this.#open('player');
    const player = this.sig.addPlayer(socket, identity);
    gate.open((msg) => handlePlayerMessage(this.sig, player, msg));
    return peer;
  }

  /** A streamer (or SFU) that sent `endpointId {id}` and was confirmed as `committed`; its handshake read. */
  streamer(id: string, committed = id, type: 'Streamer' | 'SFU' = 'Streamer'): FakePsPeer {
    const peer = this.connectStreamer(type);
    peer.send({ type: 'endpointId', id });
    expectTypes(peer.take(), ['identify', 'config', 'endpointIdConfirm'], `streamer ${id}`);
    if (peer.log[2]?.committedId !== committed) {
      throw new Error(`streamer ${id}: confirmed as ${String(peer.log[2]?.committedId)}, not ${committed}`);
    }
    return peer;
  }

  /** A player whose `config` was read. */
  player(identity?: Identity): FakePsPeer {
    const peer = this.connectPlayer(identity);
    expectTypes(peer.take(), ['config'], 'player');
    return peer;
  }

  /** A player subscribed to `streamerId`, whose streamer read its `playerConnected`. */
  subscribed(streamer: FakePsPeer, streamerId: string, identity?: Identity): { player: FakePsPeer; playerId: string } {
    const player = this.player(identity);
    player.send({ type: 'subscribe', streamerId });
    const [connected] = streamer.take();
    if (connected?.type !== 'playerConnected') {
      throw new Error(`subscribe to ${streamerId}: the streamer got ${JSON.stringify(connected)}`);
    }
    return { player, playerId: String(connected.playerId) };
  }

  /** The user ids in the presence room of `streamerId` (`ps-streamer:S1`, `ps-player:Player0`…); undefined without a room. */
  members(streamerId: string): string[] | undefined {
    const room = this.rooms.get(presenceRoomId(streamerId));
    return room && [...room.peers.values()].map((p) => p.userId);
  }

  #open(role: 'player' | 'streamer' | 'sfu') {
    const peer = new FakePsPeer();
    const socket = new PsSocket(peer.ws, PEER_ADDRESS, {
      role,
      clock: this.clock,
      logger: createLogger('silent'),
      drops: this.drops,
      badMessages: this.config.badMessages,
      maxBufferedBytes: 1 << 20,
      maxDepth: 32,
      errors: this.#errors,
      messagesPerSecond: this.config.messagesPerSecond,
      messageBurst: this.config.messageBurst,
    });
    const gate = new MessageGate<PsInbound>({
      onDrop: () => this.drops.rate_limited++,
      onError: (err) => this.#errors.report('pixel-streaming', err, { role }),
    });
    socket.onMessage((msg) => gate.push(msg));
    return { peer, socket, gate };
  }
}

function expectTypes(got: PsMessage[], types: string[], who: string): void {
  if (got.map((m) => m.type).join() !== types.join()) {
    throw new Error(`${who}: expected ${types.join(', ')}, got ${JSON.stringify(got)}`);
  }
}
