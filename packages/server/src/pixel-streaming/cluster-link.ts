import type { Identity } from '../auth/identity.js';
import type { NodeId } from '../cluster/bus.js';
import type { Delivery, RemoteSink } from '../rooms/peer-sink.js';
import { AppError } from '../shared/app-error.js';
import type { Logger } from '../shared/logger.js';
import { ClusterIds, type ClusterIdsOptions } from './cluster-ids.js';
import { PsPlayer, PsStreamer, RemoteStreamer } from './endpoints.js';
import { isPsNodeMessage, isSubscribed, PS_MODULE, readRelayed, type PsNodeMessage, type Subscribed } from './node-messages.js';
import { PeerRoute, type PeerAddress } from './peer-route.js';
import { presenceRoomId } from './presence.js';
import type { PsCluster, StreamerRecord } from './ps-cluster.js';
import type { NodeView } from './service-view.js';

export interface PsClusterLinkOptions extends ClusterIdsOptions {
  /** The other nodes' own views (`service-view.ts`), for their streamers' streaming flags. */
  otherNodes: () => Promise<NodeView[]>;
  /** The cluster's peer-delivery path: the sink of the members of a node (`ClusterRooms.sinkOf`). */
  sinkOf: (node: NodeId) => RemoteSink;
}

type SubscribeRequest = Extract<PsNodeMessage, { type: 'ps.subscribe' }>;
type Renamed = Extract<PsNodeMessage, { type: 'ps.renamed' }>;

/** A player of another node subscribed to a streamer of this one. */
interface Guest {
  player: PsPlayer;
  route: PeerRoute;
  nodeId: NodeId;
}

/**
 * The dialect across the nodes of a cluster; its ids are `ClusterIds`' (`cluster-ids.ts`). A
 * player subscribing to a streamer of another node joins that streamer's presence room from its
 * own node, then asks the streamer's node (`ps.subscribe`), which adds a guest player. From then
 * on each side's messages are `data` relays between the two presence peers (`peer-route.ts`),
 * on the cluster's peer-delivery path; subscription changes are requests of this module, in
 * order with them.
 */
export class PsClusterLink implements PsCluster {
  readonly ids: ClusterIds;
  readonly #opts: PsClusterLinkOptions;
  readonly #log: Logger;
  /** On a streamer's node: players of other nodes, by player id. */
  readonly #guests = new Map<string, Guest>();
  /** On a player's node: the remote streamer of each player subscribed (or subscribing) to one, by player id. */
  readonly #upstreams = new Map<string, RemoteStreamer>();
  /** Counts evictions of this node: a newer one supersedes the claims still retried for an older one. */
  #rejoins = 0;
  #closing: Promise<void> | undefined;

  constructor(options: PsClusterLinkOptions) {
    this.ids = new ClusterIds(options);
    this.#opts = options;
    this.#log = options.logger;
    options.node.handleModule(PS_MODULE, (m, from) => {
      if (!isPsNodeMessage(m)) {
        throw new AppError('BAD_REQUEST', 'not a Pixel Streaming node message');
      }
      return this.#answer(m, from);
    });
    options.node.bus.onNodeLost((nodeId) => this.#nodeLost(nodeId));
    options.sig.attachCluster(this);
  }

  #answer(m: PsNodeMessage, from: NodeId): unknown {
    switch (m.type) {
      case 'ps.subscribe':
        return this.#guestSubscribes(m, from);
      case 'ps.unsubscribe':
        return this.#ifGuest(m.playerId, from, (guest) => this.#dropGuest(guest));
      case 'ps.moved':
        return this.#ifGuest(m.playerId, from, (guest) => this.#guestMoved(guest, m.room, m.peerId));
      case 'ps.close':
        return this.#ifUpstream(m.playerId, from, (upstream) => this.#end(upstream, false, m.code, m.reason));
      case 'ps.renamed':
        return this.#ifUpstream(m.playerId, from, (upstream) => void this.#follow(upstream, m));
      case 'ps.replace':
        return this.ids.replaced(m);
    }
  }

  // PsCluster: what signalling asks.

  async stoppedElsewhere(): Promise<Set<string>> {
    const views = await this.#opts.otherNodes();
    return new Set(views.flatMap((v) => v.streamers.filter((s) => s.identified && !s.streaming).map((s) => s.streamerId)));
  }

  async subscribe(player: PsPlayer, record: StreamerRecord): Promise<RemoteStreamer | string | undefined> {
    const gone = `Streamer ${record.name} does not exist.`;
    const streamerPeer = await this.#enter(player, record.name);
    if (typeof streamerPeer !== 'object') {
      return streamerPeer;
    }
    const route = this.#route(record.nodeId, { room: presenceRoomId(record.name), peer: streamerPeer.id }, () => player.peer?.id);
    const upstream = new RemoteStreamer(record.name, record.nodeId, route, player);
    // Registered before asking, so that what the streamer's node sends right away reaches the player.
    this.#upstreams.set(player.id, upstream);
    let reply: unknown;
    try {
      const request: SubscribeRequest = { type: 'ps.subscribe', streamerId: record.name, player: describe(player), peerId: player.peer?.id ?? '' };
      reply = await this.#send(record.nodeId, request);
    } catch (err) {
      this.#log.debug({ err, playerId: player.id, streamerId: record.name }, 'pixel streaming: remote subscribe failed');
      // A timeout may hide a subscription that was made: undo it (a no-op if there is none).
      this.#forget(upstream, true);
      return gone;
    }
    if (this.#upstreams.get(player.id) !== upstream) {
      return undefined; // The streamer's node ended it before its answer was read, or was lost.
    }
    const answer = isSubscribed(reply) ? reply : { failed: gone };
    if ('failed' in answer) {
      this.#forget(upstream, false);
      return answer.failed;
    }
    // Another peer in the room claimed to be the streamer (the answer names its real peer), or the player left.
    if (answer.streamerPeer !== streamerPeer.id || player.socket.closed) {
      this.#forget(upstream, true);
      return player.socket.closed ? undefined : gone;
    }
    return upstream;
  }

  unsubscribe(player: PsPlayer, upstream: RemoteStreamer): void {
    if (this.#upstreams.get(player.id) === upstream) {
      this.#forget(upstream, true);
    }
  }

  /** Its players of other nodes hold their messages while their nodes move them to the new room. */
  renamed(streamer: PsStreamer): void {
    for (const player of [...streamer.subscribers.values()]) {
      const guest = this.#guests.get(player.id);
      if (guest?.player !== player) {
        continue;
      }
      const streamerPeer = streamer.peer?.id;
      if (streamerPeer === undefined) {
        guest.route.close(); // Not in presence: the player cannot follow.
        continue;
      }
      guest.route.hold();
      this.#request(guest.nodeId, { type: 'ps.renamed', playerId: player.id, streamerId: streamer.id, streamerPeer });
    }
  }

  /**
   * A `data` event on a dialect peer's presence peer: a message of its counterpart on another
   * node, handed to its socket; anything else (a native peer's data) is dropped.
   */
  received(who: PsStreamer | PsPlayer, dataJson: string): Delivery {
    const relayed = readRelayed(dataJson);
    const route = who instanceof PsStreamer ? relayed && routeFrom(who, relayed.from) : this.#upstreams.get(who.id)?.socket;
    if (relayed && route?.to?.peer === relayed.from && route.to.room === who.peer?.room.id) {
      who.socket.send(relayed.payload);
    } else {
      this.#opts.sig.opts.drops.unroutable++;
    }
    return 'ok';
  }

  /** Waits for the directory writes under way (id releases). Idempotent. */
  close(): Promise<void> {
    this.#closing ??= this.ids.close();
    return this.#closing;
  }

  // The streamer's side.

  #guestSubscribes(m: SubscribeRequest, from: NodeId): Subscribed | Promise<Subscribed> {
    const stale = this.#guests.get(m.player.id);
    if (stale) {
      this.#dropGuest(stale);
    }
    const streamer = this.#opts.sig.streamers.get(m.streamerId);
    const gone = { failed: `Streamer ${m.streamerId} does not exist.` };
    if (!streamer?.peer) {
      return gone;
    }
    const route = this.#route(from, { room: streamer.peer.room.id, peer: m.peerId }, () => streamer.peer?.id, m.player.remoteAddress);
    const player = new PsPlayer(m.player.id, route, m.player.type, guestIdentity(m));
    const guest: Guest = { player, route, nodeId: from };
    // Kicked, its streamer gone, or removed from presence: the player's node closes it.
    route.onClose((code, reason) => {
      this.#dropGuest(guest);
      this.#request(from, { type: 'ps.close', playerId: player.id, code, reason });
    });
    this.#guests.set(player.id, guest);
    const outcome = (failed: string | undefined): Subscribed => {
      if (failed === undefined && streamer.peer) {
        return { streamerPeer: streamer.peer.id };
      }
      this.#dropGuest(guest);
      return failed === undefined ? gone : { failed };
    };
    const attached = this.#opts.sig.attachRemote(player, m.streamerId);
    return attached instanceof Promise ? attached.then(outcome) : outcome(attached);
  }

  #ifGuest(playerId: string, from: NodeId, act: (guest: Guest) => void): Record<string, never> {
    const guest = this.#guests.get(playerId);
    if (guest?.nodeId === from) {
      act(guest);
    } else {
      this.#opts.sig.opts.drops.unroutable++;
    }
    return {};
  }

  /** The subscription ended (or was refused): the streamer hears `playerDisconnected` if it was made. */
  #dropGuest(guest: Guest): void {
    if (this.#guests.get(guest.player.id) === guest) {
      this.#guests.delete(guest.player.id);
    }
    guest.route.drop();
    this.#opts.sig.unsubscribe(guest.player);
  }

  /** The guest followed its streamer's rename: what the streamer sent meanwhile goes to its new presence peer. */
  #guestMoved(guest: Guest, room: string, peer: string): void {
    const streamer = guest.player.subscribedTo;
    // A move to a room the streamer has left already (renamed twice) is stale: the next one follows.
    if (streamer instanceof PsStreamer && streamer.peer?.room.id === room) {
      void guest.route.readdress({ room, peer });
    }
  }

  // The player's side.

  /**
   * Joins the player's presence peer to a remote streamer's room: the streamer's presence peer
   * there, or the `subscribeFailed` message, or undefined (the player left meanwhile).
   */
  async #enter(player: PsPlayer, streamerId: string): Promise<{ id: string } | string | undefined> {
    try {
      const streamerPeer = await this.#opts.sig.opts.presence.enterRemote(player, streamerId);
      if (streamerPeer !== undefined) {
        return { id: streamerPeer };
      }
    } catch (err) {
      if (err instanceof AppError && err.code === 'ROOM_FULL') {
        // The room's own limit (with the streamer's place) where it was set apart from the dialect's.
        const room = await this.#opts.node.directory.getRoom(presenceRoomId(streamerId)).catch(() => undefined);
        return `Streamer ${streamerId} is full. Max players = ${room ? room.maxPeers - 1 : this.#opts.sig.opts.config.maxPlayersPerStreamer}.`;
      }
      this.#log.debug({ err, playerId: player.id, streamerId }, "pixel streaming: no presence in a remote streamer's room");
    }
    this.#opts.sig.opts.presence.leave(player);
    return player.socket.closed ? undefined : `Streamer ${streamerId} does not exist.`;
  }

  #ifUpstream(playerId: string, from: NodeId, act: (upstream: RemoteStreamer) => void): Record<string, never> {
    const upstream = this.#upstreams.get(playerId);
    if (upstream?.nodeId === from) {
      act(upstream);
    }
    return {};
  }

  /**
   * The streamer was renamed: the player hears it, and its presence peer follows to the new room;
   * then the streamer's node is told where it is, and what the player sent meanwhile goes there.
   */
  async #follow(upstream: RemoteStreamer, m: Renamed): Promise<void> {
    const { player, socket: route } = upstream;
    const move = ++upstream.moves;
    const current = () => this.#upstreams.get(player.id) === upstream && upstream.moves === move;
    upstream.id = m.streamerId;
    route.hold();
    player.socket.send({ type: 'streamerIdChanged', newID: m.streamerId });
    const entered = await this.#enter(player, m.streamerId);
    if (!current()) {
      return;
    }
    const peerId = player.peer?.id;
    if (typeof entered !== 'object' || entered.id !== m.streamerPeer || peerId === undefined) {
      this.#end(upstream, true);
      return;
    }
    const room = presenceRoomId(m.streamerId);
    await route.readdress({ room, peer: entered.id }, () => {
      if (current()) {
        this.#request(upstream.nodeId, { type: 'ps.moved', playerId: player.id, room, peerId });
      }
      return current();
    });
  }

  /**
   * Ends the player's subscription as when a local streamer leaves (with `code`: kicks): the
   * streamer's node ended it, or was lost, or (`tell`: it is told) the player cannot follow it.
   */
  #end(upstream: RemoteStreamer, tell: boolean, code?: number, reason?: string): void {
    if (this.#forget(upstream, tell)) {
      this.#opts.sig.endRemote(upstream.player, upstream, code, reason);
    }
  }

  /**
   * Forgets the subscription (the player's presence peer leaves the streamer's room), telling the
   * streamer's node when `tell`; false when it was already forgotten.
   */
  #forget(upstream: RemoteStreamer, tell: boolean): boolean {
    const { player } = upstream;
    if (this.#upstreams.get(player.id) !== upstream) {
      return false;
    }
    this.#upstreams.delete(player.id);
    upstream.socket.drop();
    this.#opts.sig.opts.presence.leave(player);
    if (tell) {
      this.#request(upstream.nodeId, { type: 'ps.unsubscribe', playerId: player.id });
    }
    return true;
  }

  // Failures.

  #nodeLost(nodeId: NodeId): void {
    if (nodeId === this.#opts.node.nodeId) {
      this.#rejoin().catch((err: unknown) => this.#log.warn({ err }, 'pixel streaming: could not rejoin the cluster'));
      return;
    }
    for (const guest of [...this.#guests.values()]) {
      if (guest.nodeId === nodeId) {
        this.#dropGuest(guest);
      }
    }
    for (const upstream of [...this.#upstreams.values()]) {
      if (upstream.nodeId === nodeId) {
        this.#end(upstream, false);
      }
    }
    this.ids.releaseNode(nodeId);
  }

  /**
   * The cluster had dropped this node. The others may have ended the cross-node subscriptions
   * (if they saw it lost), so both sides end them now, telling the other side; players
   * reconnect. Streamer ids are claimed again (retried while the directory's connection is not
   * back yet); one taken meanwhile evicts its holder here.
   */
  async #rejoin(): Promise<void> {
    const generation = ++this.#rejoins;
    for (const guest of [...this.#guests.values()]) {
      guest.route.close();
    }
    for (const upstream of [...this.#upstreams.values()]) {
      this.#end(upstream, true);
    }
    for (let wait = 100; generation === this.#rejoins && this.#closing === undefined; wait = Math.min(wait * 2, 2_000)) {
      if (await this.ids.reclaim()) {
        return;
      }
      await new Promise<void>((resolve) => this.#opts.clock.setTimeout(resolve, wait));
    }
  }

  /** A route to a presence peer on `node`, over the cluster's peer-delivery path. */
  #route(node: NodeId, to: PeerAddress, from: () => string | undefined, remoteAddress = ''): PeerRoute {
    const sink = this.#opts.sinkOf(node);
    return new PeerRoute(to, {
      remoteAddress,
      from,
      relay: (address, dataJson) => sink.relay({ id: address.peer, room: { id: address.room }, routeStarted: noop, routeSettled: noop }, 'data', dataJson),
      lost: () => this.#opts.sig.opts.drops.unroutable++,
    });
  }

  /** A message for another node, in order after the ones before it; a failure is only logged. */
  #request(to: NodeId, message: PsNodeMessage): void {
    this.#send(to, message).catch((err: unknown) => {
      this.#log.debug({ err, to, type: message.type }, 'pixel streaming: a message to another node failed');
    });
  }

  #send(to: NodeId, message: PsNodeMessage): Promise<unknown> {
    return this.#opts.node.requestModule(to, PS_MODULE, message);
  }
}

const noop = (): void => undefined;

/** The route of the streamer's player of another node whose presence peer is `from` (its messages come from there). */
function routeFrom(streamer: PsStreamer, from: string): PeerRoute | undefined {
  for (const player of streamer.subscribers.values()) {
    if (player.socket instanceof PeerRoute && player.socket.to?.peer === from) {
      return player.socket;
    }
  }
  return undefined;
}

/** What the streamer's node needs to know of a player. */
function describe(player: PsPlayer): SubscribeRequest['player'] {
  const { identity } = player;
  return {
    id: player.id,
    type: player.type,
    remoteAddress: player.socket.remoteAddress,
    user: identity && { userId: identity.userId, name: identity.name, metadata: identity.metadata },
  };
}

/**
 * The guest's token as far as the streamer's node needs it: who it is, for presence. Its grants
 * were checked on its own node, so here it may join just this streamer's room.
 */
function guestIdentity(m: SubscribeRequest): Identity | undefined {
  const user = m.player.user;
  if (!user) {
    return undefined;
  }
  return {
    userId: user.userId,
    ...(user.name !== undefined ? { name: user.name } : {}),
    ...(user.metadata !== undefined ? { metadata: user.metadata } : {}),
    grants: [{ room: presenceRoomId(m.streamerId), join: true }],
    expiresAt: Number.POSITIVE_INFINITY,
  };
}
