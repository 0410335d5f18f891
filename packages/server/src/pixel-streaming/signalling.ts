import type { Peer } from '../rooms/room.js';
import { PS_CLOSE_CODES, PS_PROTOCOL_VERSION, type PsRole } from '@heliograph/protocol';
import type { Identity } from '../auth/identity.js';
import { AppError } from '../shared/app-error.js';
import { PsPlayer, PsStreamer, RemoteStreamer, type StreamerCredential } from './endpoints.js';
import type { PixelStreamingEventMap } from './events.js';
import type { PsCluster, StreamerRecord } from './ps-cluster.js';
import type { PsDropCounters, PsSocket } from './ps-socket.js';
import { eventInfo, StreamerIds, type FlowOptions } from './streamer-ids.js';
import { clusterList, clusterOrder, localList, mayJoin } from './streamer-list.js';
import { PLACEHOLDER_STREAMER_ID, StreamerRegistry } from './streamer-registry.js';

export interface SignallingOptions extends FlowOptions {
  drops: PsDropCounters;
  /** `config.peerConnectionOptions` for one peer (TURN credentials are minted per peer). */
  peerOptions: (peer: { id: string; role: PsRole }) => Record<string, unknown>;
  /** The signalling inspector: told of each message of a socket whose peer is in a presence room. */
  inspect?: PsInspect | undefined;
}

/** What the inspector is told of one dialect message: the presence peer of its socket, if any. */
export type PsInspect = (peer: Peer | undefined, direction: 'in' | 'out', type: string, message: unknown, bytes: number) => void;

type DisconnectReason = PixelStreamingEventMap['streamer.disconnected']['reason'];

/** What subscribing a player to a streamer of this node came to: the `subscribeFailed` message, if any. */
export type Attached = string | undefined | Promise<string | undefined>;

/**
 * The dialect's state and flows: who is registered, who is subscribed to whom, and what each
 * side is told when that changes. Message handlers (`*-handlers.ts`) call into it.
 */
export class PsSignalling {
  readonly streamers = new StreamerRegistry<PsStreamer>();
  readonly players = new Map<string, PsPlayer>();
  readonly #disconnectReasons = new WeakMap<PsStreamer, DisconnectReason>();
  /** `endpointId` (`streamer-ids.ts`). */
  readonly ids: StreamerIds;
  #cluster: PsCluster | undefined;
  /** Player ids on one node: `Player0`, `Player1`… (a cluster's come from a cluster-wide sequence). */
  #nextPlayerId = 0;

  constructor(readonly opts: SignallingOptions) {
    this.ids = new StreamerIds({ ...opts, streamers: this.streamers, evict: (streamer) => this.evict(streamer), cluster: () => this.#cluster });
  }

  /** Turns cluster mode on (once, before any connection). */
  attachCluster(cluster: PsCluster): void {
    this.#cluster = cluster;
  }

  /**
   * A streamer or SFU connected: placeholder id, then `identify` and `config`, in that order.
   * `sfuPlayerId`: the SFU's player id when the cluster minted it.
   */
  addStreamer(socket: PsSocket, type: 'Streamer' | 'SFU', credential: StreamerCredential, sfuPlayerId?: string): PsStreamer {
    const streamer = new PsStreamer(socket, type, credential);
    this.streamers.add(streamer, PLACEHOLDER_STREAMER_ID);
    if (type === 'SFU') {
      // An SFU is also a player: it subscribes upstream under a player id of its own.
      const player = new PsPlayer(sfuPlayerId ?? `Player${this.#nextPlayerId++}`, socket, 'SFU', undefined);
      player.sfuStreamer = streamer;
      streamer.sfuPlayer = player;
      this.players.set(player.id, player);
    }
    this.#watch(socket, () => streamer.peer ?? streamer.sfuPlayer?.peer);
    socket.onClose(() => this.#streamerGone(streamer));
    socket.send({ type: 'identify' });
    socket.send(this.#config(streamer.sfuPlayer?.id ?? streamer.id, type === 'SFU' ? 'sfu' : 'streamer'));
    return streamer;
  }

  /** A player connected: it gets `config` at once (Wilbur sends nothing else unasked). `id`: minted by the cluster. */
  addPlayer(socket: PsSocket, identity: Identity | undefined, id?: string): PsPlayer {
    const player = new PsPlayer(id ?? `Player${this.#nextPlayerId++}`, socket, 'Player', identity);
    this.players.set(player.id, player);
    this.#watch(socket, () => player.peer);
    socket.onClose(() => this.#playerGone(player));
    socket.send(this.#config(player.id, 'player'));
    return player;
  }

  #watch(socket: PsSocket, peer: () => Peer | undefined): void {
    const { inspect } = this.opts;
    if (inspect) {
      socket.watcher = (direction, msgType, message, bytes) => inspect(peer(), direction, msgType, message, bytes);
    }
  }

  #config(id: string, role: PsRole) {
    return { type: 'config' as const, peerConnectionOptions: this.opts.peerOptions({ id, role }), protocolVersion: PS_PROTOCOL_VERSION };
  }

  /** Another connection took this streamer's id (`replace`): closed with 4409 and torn down at once. */
  evict(streamer: PsStreamer): void {
    this.#disconnectReasons.set(streamer, 'replaced');
    streamer.socket.close(PS_CLOSE_CODES.REPLACED, 'replaced by a new connection');
    this.#streamerGone(streamer);
  }

  /** `listStreamers`: answers `streamerList`; in a cluster with every node's streamers. */
  sendStreamerList(player: PsPlayer): void | Promise<void> {
    if (!this.#cluster) {
      player.socket.send({ type: 'streamerList', ids: localList(player, this.streamers.list()) });
      return;
    }
    return Promise.all([this.#cluster.ids.remoteStreamers(), this.#cluster.stoppedElsewhere()]).then(([remote, stopped]) => {
      const ids = remote ? clusterList(player, this.streamers.list(), remote, stopped) : localList(player, this.streamers.list());
      player.socket.send({ type: 'streamerList', ids });
    });
  }

  /**
   * `subscribe` (§4.2). Returns false when it failed; players were told why, SFUs are not. In a
   * cluster a streamer of another node is subscribed to through that node, asynchronously.
   */
  subscribe(player: PsPlayer, streamerId: string): boolean | Promise<boolean> {
    const streamer = this.streamers.get(streamerId);
    if (!streamer && this.#cluster) {
      return this.#subscribeRemote(player, streamerId, this.#cluster);
    }
    const failed = this.#attach(player, streamer, streamerId);
    const outcome = (message: string | undefined) => message === undefined || this.#fail(player, streamerId, message);
    return failed instanceof Promise ? failed.then(outcome) : outcome(failed);
  }

  /** On a streamer's node: subscribes a player of another node; the `subscribeFailed` message if that failed. */
  attachRemote(player: PsPlayer, streamerId: string): Attached {
    return this.#attach(player, this.streamers.get(streamerId), streamerId);
  }

  #fail(player: PsPlayer, streamerId: string, message: string): false {
    this.opts.logger.debug({ playerId: player.id, streamerId, message }, 'subscribe failed');
    if (player.type === 'Player') {
      player.socket.send({ type: 'subscribeFailed', message });
    }
    return false;
  }

  /**
   * Subscribes `player` to a streamer of this node; the failure message, if any. In a cluster the
   * player's presence join comes first (the room may refuse it), so the answer may be a promise.
   */
  #attach(player: PsPlayer, streamer: PsStreamer | undefined, streamerId: string): Attached {
    if (!streamer || streamer === player.sfuStreamer) {
      return `Streamer ${streamerId} does not exist.`;
    }
    if (!mayJoin(player, streamer.id)) {
      return `Not authorized to subscribe to streamer ${streamerId}.`;
    }
    this.unsubscribe(player);
    const max = this.opts.config.maxPlayersPerStreamer;
    // As in Epic's server, a streamer's places count players and SFUs alike (its presence room is
    // sized so too); an SFU exists to fan out, so its own subscribers are not held to the limit.
    if (streamer.type === 'Streamer' && max > 0 && streamer.subscribers.size + streamer.arriving.size >= max) {
      return `Streamer ${streamerId} is full. Max players = ${max}.`;
    }
    const full = (err: unknown) => {
      const maxPeers = err instanceof AppError && err.code === 'ROOM_FULL' ? streamer.peer?.room.maxPeers : undefined;
      return `Streamer ${streamerId} is full. Max players = ${maxPeers === undefined ? max : maxPeers - 1}.`;
    };
    let entered: void | Promise<void>;
    try {
      entered = this.opts.presence.enterPlayer(player, streamer);
    } catch (err) {
      return full(err);
    }
    if (!entered) {
      this.#attached(player, streamer);
      return;
    }
    streamer.arriving.add(player);
    return entered
      .finally(() => streamer.arriving.delete(player))
      .then(
        () => this.#arrived(player, streamer, streamerId),
        (err: unknown) => full(err),
      );
  }

  /** After a presence join in a cluster: the subscription is made if both ends are still there. */
  #arrived(player: PsPlayer, streamer: PsStreamer, streamerId: string): string | undefined {
    if (player.socket.closed || !this.streamers.has(streamer) || streamer.id !== streamerId) {
      this.opts.presence.leave(player);
      return `Streamer ${streamerId} does not exist.`;
    }
    this.#attached(player, streamer);
    return undefined;
  }

  #attached(player: PsPlayer, streamer: PsStreamer): void {
    streamer.subscribers.set(player.id, player);
    player.subscribedTo = streamer;
    // Epic's key order on the wire: type, dataChannel, sfu, playerId.
    streamer.socket.send({ type: 'playerConnected', dataChannel: true, sfu: player.type === 'SFU', playerId: player.id });
  }

  /** The same steps as `#attach`, with the streamer's node doing the ones that need the streamer. */
  async #subscribeRemote(player: PsPlayer, streamerId: string, cluster: PsCluster): Promise<boolean> {
    // An unreadable directory fails like an unknown streamer, at once.
    const record = (await cluster.ids.remoteStreamers())?.find((r) => r.name === streamerId);
    if (!this.#present(player)) {
      return false;
    }
    if (!record) {
      return this.#fail(player, streamerId, `Streamer ${streamerId} does not exist.`);
    }
    if (!mayJoin(player, streamerId)) {
      return this.#fail(player, streamerId, `Not authorized to subscribe to streamer ${streamerId}.`);
    }
    this.unsubscribe(player);
    const outcome = await cluster.subscribe(player, record);
    if (typeof outcome === 'string') {
      return this.#fail(player, streamerId, outcome);
    }
    player.subscribedTo = outcome; // Undefined: the player or the subscription is gone already.
    return outcome !== undefined;
  }

  /** Still connected and registered (asynchronous steps check this when they resume). */
  #present(player: PsPlayer): boolean {
    return this.players.get(player.id) === player && !player.socket.closed;
  }

  /** Ends a subscription; the streamer hears `playerDisconnected`. Nothing when not subscribed. */
  unsubscribe(player: PsPlayer): void {
    const streamer = player.subscribedTo;
    if (!streamer) {
      return;
    }
    player.subscribedTo = undefined;
    if (streamer instanceof RemoteStreamer) {
      this.#cluster?.unsubscribe(player, streamer);
      return;
    }
    streamer.subscribers.delete(player.id);
    this.opts.presence.leave(player);
    streamer.socket.send({ type: 'playerDisconnected', playerId: player.id });
  }

  /**
   * The legacy path (BrowserSendOffer): a player that talks without subscribing is subscribed
   * to the first streamer it may use. False when that failed and the player was disconnected.
   */
  autoSubscribe(player: PsPlayer): boolean | Promise<boolean> {
    if (this.#cluster) {
      return this.#autoSubscribeInCluster(player, this.#cluster);
    }
    const first = this.#firstFor(player, undefined);
    return this.#autoSubscribed(player, first !== undefined && this.subscribe(player, first) === true);
  }

  async #autoSubscribeInCluster(player: PsPlayer, cluster: PsCluster): Promise<boolean> {
    const remote = await cluster.ids.remoteStreamers();
    if (!this.#present(player)) {
      return false;
    }
    const first = this.#firstFor(player, remote);
    return this.#autoSubscribed(player, first !== undefined && (await this.subscribe(player, first)));
  }

  /** The first streamer the player may use, in registration order or (`remote` known) the cluster's. */
  #firstFor(player: PsPlayer, remote: readonly StreamerRecord[] | undefined): string | undefined {
    const local = this.streamers.list();
    const ids = remote ? clusterOrder(local, remote).map((e) => e.id) : local.map((s) => s.id);
    return ids.find((id) => id !== player.sfuStreamer?.id && mayJoin(player, id));
  }

  #autoSubscribed(player: PsPlayer, subscribed: boolean): boolean {
    if (!subscribed) {
      this.opts.logger.debug({ playerId: player.id }, 'no streamer to auto-subscribe to; disconnecting');
      this.#closePlayer(player);
    }
    return subscribed;
  }

  /** Ends the player's subscription (its streamer hears `playerDisconnected`), then closes it. */
  #closePlayer(player: PsPlayer, code?: number, reason?: string): void {
    this.unsubscribe(player);
    player.socket.close(code, reason);
    this.#playerGone(player);
  }

  /** `disconnectPlayer`: only the streamer's own subscribers; 1011 with the streamer's reason. */
  kick(streamer: PsStreamer, playerId: string, reason: string | undefined): void {
    const player = streamer.subscribers.get(playerId);
    if (!player) {
      this.opts.drops.unroutable++;
      return;
    }
    this.#closePlayer(player, PS_CLOSE_CODES.KICKED, reason ?? '');
  }

  /** Closes everyone subscribed to `streamer` (it left, or an SFU stopped streaming). */
  dropSubscribers(streamer: PsStreamer): void {
    for (const player of [...streamer.subscribers.values()]) {
      if (player.type === 'SFU' && player.sfuStreamer) {
        this.#upstreamGone(player, player.sfuStreamer);
      } else {
        this.#closePlayer(player);
      }
    }
  }

  /**
   * The node of a player's remote streamer ended the subscription: with `code` (a kick) the
   * player is closed with it; without, it is as if a streamer of this node had left.
   */
  endRemote(player: PsPlayer, upstream: RemoteStreamer, code?: number, reason?: string): void {
    if (player.subscribedTo === upstream) {
      player.subscribedTo = undefined;
    }
    if (!this.#present(player)) {
      return;
    }
    if (code === undefined && player.type === 'SFU' && player.sfuStreamer) {
      this.#upstreamGone(player, player.sfuStreamer);
      return;
    }
    this.#closePlayer(player, code, reason);
  }

  /** An SFU's upstream streamer left: `streamerDisconnected`, then its own players go. */
  #upstreamGone(sfuPlayer: PsPlayer, sfu: PsStreamer): void {
    const upstream = sfuPlayer.subscribedTo;
    sfuPlayer.subscribedTo = undefined;
    if (upstream instanceof PsStreamer) {
      upstream.subscribers.delete(sfuPlayer.id);
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
    if (streamer.identified && streamer.clusterKey !== undefined) {
      this.#cluster?.ids.release(streamer.id, streamer.clusterKey);
    }
    if (streamer.sfuPlayer) {
      this.unsubscribe(streamer.sfuPlayer);
      this.players.delete(streamer.sfuPlayer.id);
    }
    this.dropSubscribers(streamer);
    this.opts.presence.leave(streamer, 'disconnected');
    if (streamer.confirmedId !== undefined) {
      const reason = this.#disconnectReasons.get(streamer) ?? 'closed';
      this.opts.events.emit('streamer.disconnected', { ...eventInfo(streamer, this.opts.clock.now()), reason });
    }
  }

  #playerGone(player: PsPlayer): void {
    if (this.players.get(player.id) !== player) {
      return;
    }
    this.unsubscribe(player);
    this.players.delete(player.id);
  }
}
