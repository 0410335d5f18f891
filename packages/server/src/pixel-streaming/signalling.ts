import { PS_CLOSE_CODES, PS_PROTOCOL_VERSION, PS_STREAMER_ID_PATTERN, roomPermissions, type PsRole } from '@heliograph/protocol';
import type { Identity } from '../auth/identity.js';
import { AppError } from '../shared/app-error.js';
import type { Clock } from '../shared/clock.js';
import type { Logger } from '../shared/logger.js';
import type { PixelStreamingConfig } from './config.js';
import { PsPlayer, PsStreamer, type StreamerCredential } from './endpoints.js';
import type { PixelStreamingEventMap, PixelStreamingEvents } from './events.js';
import { matchesAny } from './patterns.js';
import { presenceRoomId, type Presence } from './presence.js';
import type { PsDropCounters, PsSocket } from './ps-socket.js';
import { PLACEHOLDER_STREAMER_ID, StreamerRegistry } from './streamer-registry.js';

/** The seam for refusing streamer ids (id squatting): return false to close the streamer with 1008. */
export type StreamerIdAuthorizer = (
  streamerId: string,
  context: { type: 'Streamer' | 'SFU'; remoteAddress: string; identity: Identity | undefined },
) => boolean;

export interface SignallingOptions {
  config: PixelStreamingConfig;
  clock: Clock;
  logger: Logger;
  presence: Presence;
  events: PixelStreamingEvents;
  drops: PsDropCounters;
  /** `config.peerConnectionOptions` for one peer (TURN credentials are minted per peer). */
  peerOptions: (peer: { id: string; role: PsRole }) => Record<string, unknown>;
  authorizeStreamerId?: StreamerIdAuthorizer | undefined;
  /** Mints player ids: `Player0`, `Player1`… (a cluster would make them unique across nodes). */
  playerIds: () => string;
}

type DisconnectReason = PixelStreamingEventMap['streamer.disconnected']['reason'];

/**
 * The dialect's state and flows: who is registered, who is subscribed to whom, and what each
 * side is told when that changes. Message handlers (`*-handlers.ts`) call into it.
 */
export class PsSignalling {
  readonly streamers = new StreamerRegistry<PsStreamer>();
  readonly players = new Map<string, PsPlayer>();
  readonly #disconnectReasons = new WeakMap<PsStreamer, DisconnectReason>();

  constructor(readonly opts: SignallingOptions) {}

  /** A streamer or SFU connected: placeholder id, then `identify` and `config`, in that order. */
  addStreamer(socket: PsSocket, type: 'Streamer' | 'SFU', credential: StreamerCredential): PsStreamer {
    const streamer = new PsStreamer(socket, type, credential, this.opts.clock.now());
    this.streamers.add(streamer, PLACEHOLDER_STREAMER_ID);
    if (type === 'SFU') {
      // An SFU is also a player: it subscribes upstream under a player id of its own.
      const player = new PsPlayer(this.opts.playerIds(), socket, 'SFU', undefined, streamer.connectedAt);
      player.sfuStreamer = streamer;
      streamer.sfuPlayer = player;
      this.players.set(player.id, player);
    }
    socket.onClose(() => this.#streamerGone(streamer));
    socket.send({ type: 'identify' });
    socket.send(this.#config(streamer.sfuPlayer?.id ?? streamer.id, type === 'SFU' ? 'sfu' : 'streamer'));
    return streamer;
  }

  /** A player connected: it gets `config` at once (Wilbur sends nothing else unasked). */
  addPlayer(socket: PsSocket, identity: Identity | undefined): PsPlayer {
    const player = new PsPlayer(this.opts.playerIds(), socket, 'Player', identity, this.opts.clock.now());
    this.players.set(player.id, player);
    socket.onClose(() => this.#playerGone(player));
    socket.send(this.#config(player.id, 'player'));
    return player;
  }

  #config(id: string, role: PsRole) {
    return { type: 'config' as const, peerConnectionOptions: this.opts.peerOptions({ id, role }), protocolVersion: PS_PROTOCOL_VERSION };
  }

  /** `endpointId`: authorise, de-duplicate, rename, confirm (§4.6 with Epic's quirks fixed). */
  identify(streamer: PsStreamer, requested: string | undefined): void {
    const wanted = requested || PLACEHOLDER_STREAMER_ID;
    if (!PS_STREAMER_ID_PATTERN.test(wanted) || !this.#mayUse(streamer, wanted)) {
      this.opts.logger.info({ streamerId: wanted.slice(0, 100), address: streamer.socket.remoteAddress }, 'streamer id refused');
      streamer.socket.close(PS_CLOSE_CODES.POLICY_VIOLATION, 'streamer id not authorized');
      return;
    }
    const holder = this.streamers.holder(wanted, streamer);
    let committed = wanted;
    if (holder) {
      const policy = this.opts.config.duplicateStreamerIds;
      if (policy === 'reject') {
        streamer.socket.close(PS_CLOSE_CODES.POLICY_VIOLATION, 'streamer id in use');
        return;
      }
      if (policy === 'replace') {
        this.#disconnectReasons.set(holder, 'replaced');
        holder.socket.close(PS_CLOSE_CODES.REPLACED, 'replaced by a new connection');
        this.#streamerGone(holder);
      } else {
        committed = this.streamers.freeId(wanted, streamer);
      }
    }
    const previousId = streamer.id;
    const renamed = previousId !== committed;
    this.streamers.rename(streamer, committed);
    streamer.streaming = true;
    if (renamed) {
      // Epic's order: subscribers hear of the rename before the streamer's own confirmation.
      for (const player of streamer.subscribers.values()) {
        player.socket.send({ type: 'streamerIdChanged', newID: committed });
      }
    }
    const first = !streamer.identified;
    streamer.identified = true;
    if (renamed || first) {
      this.opts.presence.enterStreamer(streamer);
    }
    streamer.socket.send({ type: 'endpointIdConfirm', committedId: committed });
    if (first) {
      this.opts.events.emit('streamer.connected', this.#eventInfo(streamer));
    } else if (renamed) {
      this.opts.events.emit('streamer.renamed', { ...this.#eventInfo(streamer), previousId });
    }
  }

  #mayUse(streamer: PsStreamer, id: string): boolean {
    const { allowedStreamerIds } = this.opts.config;
    if (allowedStreamerIds.length > 0 && !matchesAny(allowedStreamerIds, id)) {
      return false;
    }
    const { credential } = streamer;
    if (credential.kind === 'jwt' && !roomPermissions(credential.identity.grants, presenceRoomId(id)).create) {
      return false;
    }
    const identity = credential.kind === 'jwt' ? credential.identity : undefined;
    return this.opts.authorizeStreamerId?.(id, { type: streamer.type, remoteAddress: streamer.socket.remoteAddress, identity }) ?? true;
  }

  /** The ids a player may see: identified, streaming, and (with player auth) granted to it. */
  listFor(player: PsPlayer): string[] {
    if (player.type === 'SFU') {
      return this.streamers.list().map((s) => s.id); // Epic lists everything to SFUs, itself included.
    }
    return this.streamers
      .list()
      .filter((s) => s.streaming && this.#mayJoin(player, s))
      .map((s) => s.id);
  }

  #mayJoin(player: PsPlayer, streamer: PsStreamer): boolean {
    return !player.identity || roomPermissions(player.identity.grants, presenceRoomId(streamer.id)).join;
  }

  /** `subscribe` (§4.2). Returns false when it failed; players were told why, SFUs are not. */
  subscribe(player: PsPlayer, streamerId: string): boolean {
    const streamer = this.streamers.get(streamerId);
    const fail = (message: string) => {
      this.opts.logger.debug({ playerId: player.id, streamerId, message }, 'subscribe failed');
      if (player.type === 'Player') {
        player.socket.send({ type: 'subscribeFailed', message });
      }
      return false;
    };
    if (!streamer || streamer === player.sfuStreamer) {
      return fail(`Streamer ${streamerId} does not exist.`);
    }
    if (!this.#mayJoin(player, streamer)) {
      return fail(`Not authorized to subscribe to streamer ${streamerId}.`);
    }
    this.unsubscribe(player);
    const max = this.opts.config.maxPlayersPerStreamer;
    // SFUs exist to fan out: neither they nor their subscribers are held to the player limit.
    if (player.type === 'Player' && streamer.type === 'Streamer' && max > 0 && streamer.subscribers.size >= max) {
      return fail(`Streamer ${streamerId} is full. Max players = ${max}.`);
    }
    try {
      this.opts.presence.enterPlayer(player, streamer);
    } catch (err) {
      const limit = err instanceof AppError && err.code === 'ROOM_FULL' ? streamer.peer!.room.maxPeers - 1 : max;
      return fail(`Streamer ${streamerId} is full. Max players = ${limit}.`);
    }
    streamer.subscribers.set(player.id, player);
    player.subscribedTo = streamer;
    // Epic's key order on the wire: type, dataChannel, sfu, playerId.
    streamer.socket.send({ type: 'playerConnected', dataChannel: true, sfu: player.type === 'SFU', playerId: player.id });
    return true;
  }

  /** Ends a subscription; the streamer hears `playerDisconnected`. Nothing when not subscribed. */
  unsubscribe(player: PsPlayer): void {
    const streamer = player.subscribedTo;
    if (!streamer) {
      return;
    }
    player.subscribedTo = undefined;
    streamer.subscribers.delete(player.id);
    this.opts.presence.leave(player);
    streamer.socket.send({ type: 'playerDisconnected', playerId: player.id });
  }

  /**
   * The legacy path (BrowserSendOffer): a player that talks without subscribing is subscribed
   * to the first streamer it may use. False when that failed and the player was disconnected.
   */
  autoSubscribe(player: PsPlayer): boolean {
    const first = this.streamers.list().find((s) => s !== player.sfuStreamer && this.#mayJoin(player, s));
    if (first && this.subscribe(player, first.id)) {
      return true;
    }
    this.opts.logger.debug({ playerId: player.id }, 'no streamer to auto-subscribe to; disconnecting');
    player.socket.close();
    this.#playerGone(player);
    return false;
  }

  /** `disconnectPlayer`: only the streamer's own subscribers; 1011 with the streamer's reason. */
  kick(streamer: PsStreamer, playerId: string, reason: string | undefined): void {
    const player = streamer.subscribers.get(playerId);
    if (!player) {
      this.opts.drops.unroutable++;
      return;
    }
    this.unsubscribe(player);
    player.socket.close(PS_CLOSE_CODES.KICKED, reason ?? '');
    this.#playerGone(player);
  }

  /** Closes everyone subscribed to `streamer` (it left, or an SFU stopped streaming). */
  dropSubscribers(streamer: PsStreamer): void {
    for (const player of [...streamer.subscribers.values()]) {
      if (player.type === 'SFU' && player.sfuStreamer) {
        this.#upstreamGone(player, player.sfuStreamer);
      } else {
        this.unsubscribe(player);
        player.socket.close();
        this.#playerGone(player);
      }
    }
  }

  /** An SFU's upstream streamer left: `streamerDisconnected`, then its own players go. */
  #upstreamGone(sfuPlayer: PsPlayer, sfu: PsStreamer): void {
    const upstream = sfuPlayer.subscribedTo;
    if (upstream) {
      upstream.subscribers.delete(sfuPlayer.id);
      sfuPlayer.subscribedTo = undefined;
      this.opts.presence.leave(sfuPlayer);
    }
    sfu.socket.send({ type: 'streamerDisconnected' });
    sfu.streaming = false;
    this.dropSubscribers(sfu);
  }

  /** Marks why a streamer is about to go, for `streamer.disconnected`. */
  noteDisconnectReason(streamer: PsStreamer, reason: DisconnectReason): void {
    this.#disconnectReasons.set(streamer, reason);
  }

  #streamerGone(streamer: PsStreamer): void {
    if (!this.streamers.has(streamer)) {
      return; // Already torn down (replaced, then its socket closed).
    }
    this.streamers.remove(streamer);
    if (streamer.sfuPlayer) {
      this.unsubscribe(streamer.sfuPlayer);
      this.players.delete(streamer.sfuPlayer.id);
    }
    this.dropSubscribers(streamer);
    this.opts.presence.leave(streamer, 'disconnected');
    if (streamer.identified) {
      const reason = this.#disconnectReasons.get(streamer) ?? 'closed';
      this.opts.events.emit('streamer.disconnected', { ...this.#eventInfo(streamer), reason });
    }
  }

  #playerGone(player: PsPlayer): void {
    if (this.players.get(player.id) !== player) {
      return;
    }
    this.unsubscribe(player);
    this.players.delete(player.id);
  }

  #eventInfo(streamer: PsStreamer) {
    return { streamerId: streamer.id, type: streamer.type, remoteAddress: streamer.socket.remoteAddress, at: this.opts.clock.now() };
  }
}
