import type { Identity } from '../auth/identity.js';
import type { NodeId } from '../cluster/bus.js';
import type { ClusterNode } from '../cluster/cluster-node.js';
import { AppError } from '../shared/app-error.js';
import type { Logger } from '../shared/logger.js';
import { ClusterIds, type ClusterIdsOptions } from './cluster-ids.js';
import { PsPlayer, PsStreamer, RemoteStreamer } from './endpoints.js';
import { isPsNodeMessage, PS_MODULE, type PsNodeMessage } from './node-messages.js';
import { presenceRoomId } from './presence.js';
import type { PsCluster, StreamerRecord } from './ps-cluster.js';
import { ForwardingLink } from './remote-links.js';
import type { NodeView } from './service-view.js';

export interface PsClusterLinkOptions extends ClusterIdsOptions {
  /** The other nodes' own views (`service-view.ts`), for their streamers' streaming flags. */
  otherNodes: () => Promise<NodeView[]>;
}

type SubscribeRequest = Extract<PsNodeMessage, { type: 'ps.subscribe' }>;

/** A player of another node subscribed to a streamer of this one. */
interface Guest {
  player: PsPlayer;
  link: ForwardingLink;
  nodeId: NodeId;
}

/** A player of this node subscribed (or subscribing) to a streamer of another. */
interface Upstream {
  player: PsPlayer;
  upstream: RemoteStreamer;
}

/**
 * The dialect across the nodes of a cluster; its ids are `ClusterIds`' (`cluster-ids.ts`). A
 * player subscribing to a streamer of another node asks that node (`ps.subscribe`), which adds a
 * guest player whose link forwards to the player's node; from then on each side's messages
 * travel as `module.request`s to the other's inbox, in order.
 */
export class PsClusterLink implements PsCluster {
  readonly ids: ClusterIds;
  readonly #node: ClusterNode;
  readonly #opts: PsClusterLinkOptions;
  readonly #log: Logger;
  /** On a streamer's node: players of other nodes, by player id. */
  readonly #guests = new Map<string, Guest>();
  /** On a player's node: the remote streamer of each player, by player id. */
  readonly #upstreams = new Map<string, Upstream>();
  /** Counts evictions of this node: a newer one supersedes the claims still retried for an older one. */
  #rejoins = 0;
  #closing: Promise<void> | undefined;

  constructor(options: PsClusterLinkOptions) {
    this.ids = new ClusterIds(options);
    this.#node = options.node;
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
      case 'ps.to-streamer':
        return this.#ifGuest(m.playerId, from, (guest) => this.#toStreamer(guest, m.message));
      case 'ps.to-player':
        return this.#ifUpstream(m.playerId, from, (up) => this.#toPlayer(up, m.message));
      case 'ps.close':
        return this.#ifUpstream(m.playerId, from, (up) => this.#endUpstream(up, m.code, m.reason));
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
    const link = new ForwardingLink('', {
      forward: (message) => this.#request(record.nodeId, { type: 'ps.to-streamer', playerId: player.id, message }),
      closed: () => undefined,
    });
    const entry: Upstream = { player, upstream: new RemoteStreamer(record.name, record.nodeId, link) };
    // Registered before asking, so that what the streamer's node sends right away reaches the player.
    this.#upstreams.set(player.id, entry);
    let reply: unknown;
    try {
      reply = await this.#send(record.nodeId, { type: 'ps.subscribe', streamerId: record.name, player: describe(player) });
    } catch (err) {
      this.#log.debug({ err, playerId: player.id, streamerId: record.name }, 'pixel streaming: remote subscribe failed');
      if (this.#forgetUpstream(entry)) {
        // A timeout may hide a subscription that was made: undo it (a no-op if there is none).
        this.#request(record.nodeId, { type: 'ps.unsubscribe', playerId: player.id });
      }
      return `Streamer ${record.name} does not exist.`;
    }
    if (this.#upstreams.get(player.id) !== entry) {
      return undefined; // The streamer's node ended it before its answer was read, or was lost.
    }
    const failed = failureOf(reply);
    if (failed !== undefined || player.socket.closed) {
      this.#forgetUpstream(entry);
      if (failed === undefined) {
        this.#request(record.nodeId, { type: 'ps.unsubscribe', playerId: player.id });
      }
      return failed;
    }
    return entry.upstream;
  }

  unsubscribe(player: PsPlayer, upstream: RemoteStreamer): void {
    const entry = this.#upstreams.get(player.id);
    if (entry?.upstream === upstream && this.#forgetUpstream(entry)) {
      this.#request(upstream.nodeId, { type: 'ps.unsubscribe', playerId: player.id });
    }
  }

  /** Waits for the directory writes under way (id releases). Idempotent. */
  close(): Promise<void> {
    this.#closing ??= this.ids.close();
    return this.#closing;
  }

  // The streamer's side.

  #guestSubscribes(m: SubscribeRequest, from: NodeId): { failed?: string } | Promise<{ failed?: string }> {
    const id = m.player.id;
    const stale = this.#guests.get(id);
    if (stale) {
      this.#dropGuest(stale);
    }
    const link = new ForwardingLink(m.player.remoteAddress, {
      forward: (message) => this.#request(from, { type: 'ps.to-player', playerId: id, message }),
      // Kicked, its streamer gone, or removed from presence: the player's node closes it.
      closed: (code, reason) => {
        if (this.#guests.get(id) === guest) {
          this.#guests.delete(id);
        }
        this.#request(from, { type: 'ps.close', playerId: id, code, reason });
        this.#opts.sig.unsubscribe(player);
      },
    });
    const player = new PsPlayer(id, link, m.player.type, guestIdentity(m), this.#opts.clock.now());
    const guest: Guest = { player, link, nodeId: from };
    this.#guests.set(id, guest);
    const attached = this.#opts.sig.attachRemote(player, m.streamerId);
    const outcome = (failed: string | undefined): { failed?: string } => {
      if (failed === undefined) {
        return {};
      }
      if (this.#guests.get(id) === guest) {
        this.#guests.delete(id);
      }
      link.drop();
      return { failed };
    };
    // In a cluster the guest's presence join may still be on its way (a directory round trip).
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

  /** The player's node ended the subscription (or was lost): the streamer hears `playerDisconnected`. */
  #dropGuest(guest: Guest): void {
    if (this.#guests.get(guest.player.id) === guest) {
      this.#guests.delete(guest.player.id);
    }
    guest.link.drop();
    this.#opts.sig.unsubscribe(guest.player);
  }

  #toStreamer(guest: Guest, message: Record<string, unknown>): void {
    const streamer = guest.player.subscribedTo;
    if (streamer instanceof PsStreamer) {
      streamer.socket.send(message);
    } else {
      this.#opts.sig.opts.drops.unroutable++;
    }
  }

  // The player's side.

  #ifUpstream(playerId: string, from: NodeId, act: (up: Upstream) => void): Record<string, never> {
    const entry = this.#upstreams.get(playerId);
    if (entry?.upstream.nodeId === from) {
      act(entry);
    }
    return {};
  }

  #toPlayer({ player, upstream }: Upstream, message: Record<string, unknown>): void {
    if (message.type === 'streamerIdChanged' && typeof message.newID === 'string') {
      upstream.id = message.newID;
    }
    player.socket.send(message);
  }

  /** The streamer's node ended the subscription, or was lost: as when a local streamer leaves (or kicks). */
  #endUpstream(entry: Upstream, code?: number, reason?: string): void {
    this.#forgetUpstream(entry);
    this.#opts.sig.endRemote(entry.player, entry.upstream, code, reason);
  }

  /** False when it was already forgotten. */
  #forgetUpstream(entry: Upstream): boolean {
    if (this.#upstreams.get(entry.player.id) !== entry) {
      return false;
    }
    this.#upstreams.delete(entry.player.id);
    entry.upstream.socket.close();
    return true;
  }

  // Failures.

  #nodeLost(nodeId: NodeId): void {
    if (nodeId === this.#node.nodeId) {
      this.#rejoin().catch((err: unknown) => this.#log.warn({ err }, 'pixel streaming: could not rejoin the cluster'));
      return;
    }
    for (const guest of [...this.#guests.values()]) {
      if (guest.nodeId === nodeId) {
        this.#dropGuest(guest);
      }
    }
    for (const entry of [...this.#upstreams.values()]) {
      if (entry.upstream.nodeId === nodeId) {
        this.#endUpstream(entry);
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
      guest.link.close();
    }
    for (const entry of [...this.#upstreams.values()]) {
      this.#forgetUpstream(entry);
      this.#request(entry.upstream.nodeId, { type: 'ps.unsubscribe', playerId: entry.player.id });
      this.#opts.sig.endRemote(entry.player, entry.upstream);
    }
    for (let wait = 100; generation === this.#rejoins && this.#closing === undefined; wait = Math.min(wait * 2, 2_000)) {
      if (await this.ids.reclaim()) {
        return;
      }
      await new Promise<void>((resolve) => this.#opts.clock.setTimeout(resolve, wait));
    }
  }

  /** A message for another node, in order after the ones before it; a failure is only logged. */
  #request(to: NodeId, message: PsNodeMessage): void {
    this.#send(to, message).catch((err: unknown) => {
      this.#log.debug({ err, to, type: message.type }, 'pixel streaming: a message to another node failed');
    });
  }

  #send(to: NodeId, message: PsNodeMessage): Promise<unknown> {
    return this.#node.requestModule(to, PS_MODULE, message);
  }
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

function failureOf(reply: unknown): string | undefined {
  if (typeof reply === 'object' && reply !== null && 'failed' in reply && typeof reply.failed === 'string') {
    return reply.failed;
  }
  return undefined;
}
