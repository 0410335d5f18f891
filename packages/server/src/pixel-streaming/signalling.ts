import type { Peer } from '../rooms/room.js';
import { PS_CLOSE_CODES, PS_PROTOCOL_VERSION, PS_STREAMER_ID_PATTERN, roomPermissions, type PsRole } from '@heliograph/protocol';
import type { Identity } from '../auth/identity.js';
import { AppError } from '../shared/app-error.js';
import type { Clock } from '@heliograph/common';
import type { Logger } from '../shared/logger.js';
import type { PixelStreamingConfig } from './config.js';
import { PsPlayer, PsStreamer, RemoteStreamer, type StreamerCredential } from './endpoints.js';
import type { PixelStreamingEventMap, PixelStreamingEvents } from './events.js';
import { matchesAny } from './patterns.js';
import { presenceRoomId, type Presence } from './presence.js';
import type { PsCluster, StreamerRecord } from './ps-cluster.js';
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
  /** Mints player ids on one node: `Player0`, `Player1`… (in a cluster the link takes them from a cluster-wide sequence). */
  playerIds: () => string;
  /** The signalling inspector: told of each message of a socket whose peer is in a presence room. */
  inspect?: PsInspect | undefined;
}

/** What the inspector is told of one dialect message: the presence peer of its socket, if any. */
export type PsInspect = (peer: Peer | undefined, direction: 'in' | 'out', type: string, message: unknown, bytes: number) => void;

type DisconnectReason = PixelStreamingEventMap['streamer.disconnected']['reason'];

/** WebSocket 1013 (Try Again Later): a streamer whose id the cluster could not record. */
const TRY_AGAIN_LATER = 1013;

/** What subscribing a player to a streamer of this node came to: the `subscribeFailed` message, if any. */
export type Attached = string | undefined | Promise<string | undefined>;

/** Where a streamer stands in the cluster's registration order (its claim key is a sequence number). */
function orderOf(key: string | undefined): number {
  const n = Number(key);
  return key !== undefined && Number.isFinite(n) ? n : Number.POSITIVE_INFINITY;
}

/**
 * The dialect's state and flows: who is registered, who is subscribed to whom, and what each
 * side is told when that changes. Message handlers (`*-handlers.ts`) call into it.
 */
export class PsSignalling {
  readonly streamers = new StreamerRegistry<PsStreamer>();
  readonly players = new Map<string, PsPlayer>();
  readonly #disconnectReasons = new WeakMap<PsStreamer, DisconnectReason>();
  #cluster: PsCluster | undefined;

  constructor(readonly opts: SignallingOptions) {}

  /** Turns cluster mode on (once, before any connection). */
  attachCluster(cluster: PsCluster): void {
    this.#cluster = cluster;
  }

  /**
   * A streamer or SFU connected: placeholder id, then `identify` and `config`, in that order.
   * `sfuPlayerId`: the SFU's player id when the cluster minted it (else `playerIds()`).
   */
  addStreamer(socket: PsSocket, type: 'Streamer' | 'SFU', credential: StreamerCredential, sfuPlayerId?: string): PsStreamer {
    const streamer = new PsStreamer(socket, type, credential, this.opts.clock.now());
    this.streamers.add(streamer, PLACEHOLDER_STREAMER_ID);
    if (type === 'SFU') {
      // An SFU is also a player: it subscribes upstream under a player id of its own.
      const player = new PsPlayer(sfuPlayerId ?? this.opts.playerIds(), socket, 'SFU', undefined, streamer.connectedAt);
      player.sfuStreamer = streamer;
      streamer.sfuPlayer = player;
      this.players.set(player.id, player);
    }
    const { inspect } = this.opts;
    if (inspect) {
      socket.watcher = (direction, msgType, message, bytes) => inspect(streamer.peer ?? streamer.sfuPlayer?.peer, direction, msgType, message, bytes);
    }
    socket.onClose(() => this.#streamerGone(streamer));
    socket.send({ type: 'identify' });
    socket.send(this.#config(streamer.sfuPlayer?.id ?? streamer.id, type === 'SFU' ? 'sfu' : 'streamer'));
    return streamer;
  }

  /** A player connected: it gets `config` at once (Wilbur sends nothing else unasked). `id`: minted by the cluster. */
  addPlayer(socket: PsSocket, identity: Identity | undefined, id?: string): PsPlayer {
    const player = new PsPlayer(id ?? this.opts.playerIds(), socket, 'Player', identity, this.opts.clock.now());
    this.players.set(player.id, player);
    const { inspect } = this.opts;
    if (inspect) {
      socket.watcher = (direction, msgType, message, bytes) => inspect(player.peer, direction, msgType, message, bytes);
    }
    socket.onClose(() => this.#playerGone(player));
    socket.send(this.#config(player.id, 'player'));
    return player;
  }

  #config(id: string, role: PsRole) {
    return { type: 'config' as const, peerConnectionOptions: this.opts.peerOptions({ id, role }), protocolVersion: PS_PROTOCOL_VERSION };
  }

  /**
   * `endpointId`: authorise, de-duplicate, rename, confirm (§4.6 with Epic's quirks fixed). In a
   * cluster the id is claimed in the directory first, so the confirmation comes asynchronously.
   */
  identify(streamer: PsStreamer, requested: string | undefined): void | Promise<void> {
    const wanted = requested || PLACEHOLDER_STREAMER_ID;
    if (!PS_STREAMER_ID_PATTERN.test(wanted) || !this.#mayUse(streamer, wanted)) {
      this.opts.logger.info({ streamerId: wanted.slice(0, 100), address: streamer.socket.remoteAddress }, 'streamer id refused');
      streamer.socket.close(PS_CLOSE_CODES.POLICY_VIOLATION, 'streamer id not authorized');
      return;
    }
    if (this.#cluster && !(streamer.identified && wanted === streamer.id)) {
      return this.#identifyInCluster(streamer, wanted, this.#cluster);
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
        this.evict(holder);
      } else {
        committed = this.streamers.freeId(wanted, streamer);
      }
    }
    return this.#commit(streamer, committed);
  }

  async #identifyInCluster(streamer: PsStreamer, wanted: string, cluster: PsCluster): Promise<void> {
    const outcome = await cluster.ids.claim(streamer, wanted);
    if (!this.streamers.has(streamer)) {
      // It left while the claim was on its way: give the id back.
      if ('id' in outcome && streamer.clusterKey !== undefined) {
        cluster.ids.release(outcome.id, streamer.clusterKey);
      }
      return;
    }
    if ('refused' in outcome) {
      if (outcome.refused === 'in use') {
        streamer.socket.close(PS_CLOSE_CODES.POLICY_VIOLATION, 'streamer id in use');
      } else {
        // Without the directory the id could be taken twice: Unreal reconnects and tries again.
        streamer.socket.close(TRY_AGAIN_LATER, 'cluster unavailable');
      }
      return;
    }
    const committed = outcome.id;
    const clash = this.streamers.holder(committed, streamer);
    if (clash?.identified) {
      // The directory gave us an id this node still holds (it had lost its data): the newest wins.
      this.evict(clash);
    } else if (clash) {
      // An unidentified streamer listed under a placeholder that was claimed: it moves aside.
      this.streamers.rename(clash, this.streamers.freeId(PLACEHOLDER_STREAMER_ID, clash, committed));
    }
    const previous = streamer.identified ? streamer.id : undefined;
    await this.#commit(streamer, committed);
    if (previous !== undefined && previous !== committed && streamer.clusterKey !== undefined) {
      cluster.ids.release(previous, streamer.clusterKey);
    }
  }

  /** Another connection took this streamer's id (`replace`): closed with 4409 and torn down at once. */
  evict(streamer: PsStreamer): void {
    this.#disconnectReasons.set(streamer, 'replaced');
    streamer.socket.close(PS_CLOSE_CODES.REPLACED, 'replaced by a new connection');
    this.#streamerGone(streamer);
  }

  /**
   * Gives a streamer its id: subscribers hear of a rename, presence follows, then the
   * confirmation. In a cluster presence is a directory round trip, awaited before the confirmation.
   */
  #commit(streamer: PsStreamer, committed: string): void | Promise<void> {
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
    const entered = renamed || first ? this.opts.presence.enterStreamer(streamer) : undefined;
    const confirm = () => this.#confirm(streamer, committed, first, renamed, previousId);
    return entered ? entered.then(confirm) : confirm();
  }

  #confirm(streamer: PsStreamer, committed: string, first: boolean, renamed: boolean, previousId: string): void {
    if (!this.streamers.has(streamer) || streamer.id !== committed) {
      return; // It left (or was renamed again) while presence was on its way.
    }
    streamer.socket.send({ type: 'endpointIdConfirm', committedId: committed });
    if (first) {
      streamer.announced = true;
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

  /** The ids a player may see on this node: identified, streaming, and (with player auth) granted to it. */
  listFor(player: PsPlayer): string[] {
    if (player.type === 'SFU') {
      return this.streamers.list().map((s) => s.id); // Epic lists everything to SFUs, itself included.
    }
    return this.streamers
      .list()
      .filter((s) => s.streaming && this.#mayJoin(player, s.id))
      .map((s) => s.id);
  }

  /** `listStreamers`: answers `streamerList`; in a cluster with every node's streamers. */
  sendStreamerList(player: PsPlayer): void | Promise<void> {
    if (!this.#cluster) {
      player.socket.send({ type: 'streamerList', ids: this.listFor(player) });
      return;
    }
    return Promise.all([this.#cluster.ids.remoteStreamers(), this.#cluster.stoppedElsewhere()]).then(([remote, stopped]) => {
      const ids = remote ? this.#clusterListFor(player, remote, stopped) : this.listFor(player);
      player.socket.send({ type: 'streamerList', ids });
    });
  }

  /**
   * Every node's streamers in the order they first identified anywhere in the cluster, then this
   * node's unidentified ones; for players only those streaming and granted.
   */
  #clusterListFor(player: PsPlayer, remote: StreamerRecord[], stopped: ReadonlySet<string>): string[] {
    const entries = this.#clusterOrder(remote, stopped);
    if (player.type === 'SFU') {
      return entries.map((e) => e.id);
    }
    return entries.filter((e) => e.identified && e.streaming && this.#mayJoin(player, e.id)).map((e) => e.id);
  }

  #clusterOrder(remote: StreamerRecord[], stopped: ReadonlySet<string> = new Set()): Array<{ id: string; identified: boolean; streaming: boolean }> {
    const local = this.streamers.list();
    const identified = [
      ...local.filter((s) => s.identified).map((s) => ({ id: s.id, order: orderOf(s.clusterKey), identified: true, streaming: s.streaming })),
      // Only its node knows whether an SFU stopped streaming: `stopped` comes from the nodes' views.
      ...remote.map((r) => ({ id: r.name, order: orderOf(r.key), identified: true, streaming: !stopped.has(r.name) })),
    ].sort((a, b) => a.order - b.order);
    const unidentified = local.filter((s) => !s.identified).map((s) => ({ id: s.id, identified: false, streaming: s.streaming }));
    return [...identified, ...unidentified];
  }

  #mayJoin(player: PsPlayer, streamerId: string): boolean {
    return !player.identity || roomPermissions(player.identity.grants, presenceRoomId(streamerId)).join;
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
    if (!this.#mayJoin(player, streamer.id)) {
      return `Not authorized to subscribe to streamer ${streamerId}.`;
    }
    this.unsubscribe(player);
    const max = this.opts.config.maxPlayersPerStreamer;
    // SFUs exist to fan out: neither they nor their subscribers are held to the player limit.
    if (player.type === 'Player' && streamer.type === 'Streamer' && max > 0 && streamer.subscribers.size + streamer.arriving.size >= max) {
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
      return this.#attached(player, streamer);
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
    return this.#attached(player, streamer);
  }

  #attached(player: PsPlayer, streamer: PsStreamer): undefined {
    streamer.subscribers.set(player.id, player);
    player.subscribedTo = streamer;
    // Epic's key order on the wire: type, dataChannel, sfu, playerId.
    streamer.socket.send({ type: 'playerConnected', dataChannel: true, sfu: player.type === 'SFU', playerId: player.id });
    return undefined;
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
    if (!this.#mayJoin(player, streamerId)) {
      return this.#fail(player, streamerId, `Not authorized to subscribe to streamer ${streamerId}.`);
    }
    this.unsubscribe(player);
    const outcome = await cluster.subscribe(player, record);
    if (outcome === undefined) {
      return false;
    }
    if (typeof outcome === 'string') {
      return this.#fail(player, streamerId, outcome);
    }
    player.subscribedTo = outcome;
    return true;
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
    const first = this.streamers.list().find((s) => s !== player.sfuStreamer && this.#mayJoin(player, s.id));
    return this.#autoSubscribed(player, first !== undefined && this.subscribe(player, first.id) === true);
  }

  /** The first streamer in the cluster's order (`#clusterOrder`) that the player may use. */
  async #autoSubscribeInCluster(player: PsPlayer, cluster: PsCluster): Promise<boolean> {
    const remote = await cluster.ids.remoteStreamers();
    if (!this.#present(player)) {
      return false;
    }
    const own = player.sfuStreamer?.id;
    const first = remote
      ? this.#clusterOrder(remote).find((e) => e.id !== own && this.#mayJoin(player, e.id))?.id
      : this.streamers.list().find((s) => s !== player.sfuStreamer && this.#mayJoin(player, s.id))?.id;
    return this.#autoSubscribed(player, first !== undefined && (await this.subscribe(player, first)));
  }

  #autoSubscribed(player: PsPlayer, subscribed: boolean): boolean {
    if (subscribed) {
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
    player.socket.close(code, reason);
    this.#playerGone(player);
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
    if (streamer.announced) {
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
