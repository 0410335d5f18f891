import type { Clock } from '@heliograph/common';
import type { Identity } from '../auth/identity.js';
import { BackgroundWrites } from '../cluster/background-writes.js';
import type { NodeId } from '../cluster/bus.js';
import type { ClusterNode } from '../cluster/cluster-node.js';
import type { DuplicateStreamerPolicy, StreamerRecord } from '../cluster/directory.js';
import type { PsNodeMessage } from '../cluster/messages.js';
import { AppError } from '../shared/app-error.js';
import type { Logger } from '../shared/logger.js';
import { PsPlayer, PsStreamer, RemoteStreamer } from './endpoints.js';
import { presenceRoomId } from './presence.js';
import { ForwardingLink } from './remote-links.js';
import type { NodeView } from './service-view.js';
import type { ClaimOutcome, PsCluster, PsSignalling } from './signalling.js';

export interface PsClusterLinkOptions {
  node: ClusterNode;
  sig: PsSignalling;
  clock: Clock;
  logger: Logger;
  /** `pixelStreaming.duplicateStreamerIds`, applied by the directory across the cluster. */
  policy: DuplicateStreamerPolicy;
  /** The other nodes' own views (`service-view.ts`), for their streamers' streaming flags. */
  otherNodes: () => Promise<NodeView[]>;
}

/** Cluster-wide sequences: player ids (players and SFUs share one, as in Wilbur) and streamer order. */
const PLAYER_SEQUENCE = 'ps-player';
const STREAMER_SEQUENCE = 'ps-streamer';

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
 * The dialect across the nodes of a cluster. Streamer ids are claimed in the directory and player
 * ids come from a cluster-wide sequence. A player subscribing to a streamer of another node asks
 * that node (`ps.subscribe`), which adds a guest player whose link forwards to the player's node;
 * from then on each side's messages travel as requests to the other's inbox, in order.
 */
export class PsClusterLink implements PsCluster {
  readonly #node: ClusterNode;
  readonly #sig: PsSignalling;
  readonly #opts: PsClusterLinkOptions;
  readonly #log: Logger;
  /** On a streamer's node: players of other nodes, by player id. */
  readonly #guests = new Map<string, Guest>();
  /** On a player's node: the remote streamer of each player, by player id. */
  readonly #upstreams = new Map<string, Upstream>();
  /** Streamer ids (→ claim key) whose release failed: retried when Redis is back. */
  readonly #unreleased = new Map<string, string>();
  readonly #writes: BackgroundWrites;
  #fallbackIds = 0;
  /** Counts evictions of this node: a newer one supersedes the claims still retried for an older one. */
  #rejoins = 0;
  #closing: Promise<void> | undefined;

  constructor(options: PsClusterLinkOptions) {
    this.#node = options.node;
    this.#sig = options.sig;
    this.#opts = options;
    this.#log = options.logger;
    this.#writes = new BackgroundWrites(options.logger, 'pixel streaming: a cluster directory update failed');
    const node = options.node;
    node.handle('ps.subscribe', (m, from) => this.#guestSubscribes(m, from));
    node.handle('ps.unsubscribe', (m, from) => this.#ifGuest(m.playerId, from, (guest) => this.#dropGuest(guest)));
    node.handle('ps.to-streamer', (m, from) => this.#ifGuest(m.playerId, from, (guest) => this.#toStreamer(guest, m.message)));
    node.handle('ps.to-player', (m, from) => this.#ifUpstream(m.playerId, from, (up) => this.#toPlayer(up, m.message)));
    node.handle('ps.close', (m, from) => this.#ifUpstream(m.playerId, from, (up) => this.#endUpstream(up, m.code, m.reason)));
    node.handle('ps.replace', (m) => {
      const holder = this.#localStreamer(m.peerId);
      if (holder?.id === m.streamerId) {
        this.#sig.evict(holder);
      }
      return {};
    });
    node.bus.onNodeLost((nodeId) => this.#nodeLost(nodeId));
    node.bus.onConnectionChange((up) => {
      if (up) {
        this.#retryReleases();
      }
    });
    options.sig.attachCluster(this);
  }

  get nodeId(): NodeId {
    return this.#node.nodeId;
  }

  /** Once the node is in the cluster: frees streamer ids held by nodes that are no longer alive. */
  async start(): Promise<void> {
    const alive = new Set(this.#node.bus.nodes());
    const records = await this.#node.directory.streamers().catch(() => []);
    for (const r of records) {
      if (!alive.has(r.nodeId)) {
        this.#release(r.id, r);
      }
    }
    await this.#writes.settle();
  }

  /**
   * A player id unique in the cluster, `Player<n>`. While the directory cannot be reached,
   * `Player-<node id>-<n>`: still unique, so players of this node's streamers carry on.
   */
  async playerId(): Promise<string> {
    for (;;) {
      let id: string;
      try {
        // Started after the time in ms, so that a Redis that lost its data never hands out an id again.
        id = `Player${await this.#node.directory.nextId(PLAYER_SEQUENCE, this.#opts.clock.now())}`;
      } catch (err) {
        this.#log.warn({ err }, 'pixel streaming: no cluster player id; using a node-scoped one');
        id = `Player-${this.nodeId}-${this.#fallbackIds++}`;
      }
      // A sequence restarted by a Redis that lost its data must not reuse an id held here.
      if (!this.#sig.players.has(id)) {
        return id;
      }
    }
  }

  // PsCluster: what signalling asks.

  async claim(streamer: PsStreamer, wanted: string): Promise<ClaimOutcome> {
    const { directory } = this.#node;
    try {
      streamer.clusterKey ??= String(await directory.nextId(STREAMER_SEQUENCE, this.#opts.clock.now()));
      const { id, replaced } = await directory.claimStreamerId(wanted, { nodeId: this.nodeId, peerId: streamer.clusterKey }, this.#opts.policy);
      if (replaced) {
        await this.#evict(replaced);
      }
      return { id };
    } catch (err) {
      if (err instanceof AppError && err.code === 'CONFLICT') {
        return { refused: 'in use' };
      }
      this.#log.warn({ err, streamerId: wanted }, 'pixel streaming: could not claim a streamer id');
      return { refused: 'unavailable' };
    }
  }

  release(id: string, key: string): void {
    this.#release(id, { nodeId: this.nodeId, peerId: key });
  }

  async stoppedElsewhere(): Promise<Set<string>> {
    const views = await this.#opts.otherNodes();
    return new Set(views.flatMap((v) => v.streamers.filter((s) => s.identified && !s.streaming).map((s) => s.streamerId)));
  }

  async remoteStreamers(): Promise<StreamerRecord[] | undefined> {
    try {
      return (await this.#node.directory.streamers()).filter((r) => r.nodeId !== this.nodeId);
    } catch (err) {
      this.#log.warn({ err }, 'pixel streaming: cannot read the cluster streamer list');
      return undefined;
    }
  }

  async subscribe(player: PsPlayer, record: StreamerRecord): Promise<RemoteStreamer | string | undefined> {
    const link = new ForwardingLink('', {
      forward: (message) => this.#request(record.nodeId, { type: 'ps.to-streamer', playerId: player.id, message }),
      closed: () => undefined,
    });
    const entry: Upstream = { player, upstream: new RemoteStreamer(record.id, record.nodeId, link) };
    // Registered before asking, so that what the streamer's node sends right away reaches the player.
    this.#upstreams.set(player.id, entry);
    let reply: unknown;
    try {
      reply = await this.#node.bus.request(record.nodeId, { type: 'ps.subscribe', streamerId: record.id, player: describe(player) });
    } catch (err) {
      this.#log.debug({ err, playerId: player.id, streamerId: record.id }, 'pixel streaming: remote subscribe failed');
      if (this.#forgetUpstream(entry)) {
        // A timeout may hide a subscription that was made: undo it (a no-op if there is none).
        this.#request(record.nodeId, { type: 'ps.unsubscribe', playerId: player.id });
      }
      return `Streamer ${record.id} does not exist.`;
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
    this.#closing ??= this.#writes.settle();
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
        this.#sig.unsubscribe(player);
      },
    });
    const player = new PsPlayer(id, link, m.player.type, guestIdentity(m), this.#opts.clock.now());
    const guest: Guest = { player, link, nodeId: from };
    this.#guests.set(id, guest);
    const attached = this.#sig.attachRemote(player, m.streamerId);
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
      this.#sig.opts.drops.unroutable++;
    }
    return {};
  }

  /** The player's node ended the subscription (or was lost): the streamer hears `playerDisconnected`. */
  #dropGuest(guest: Guest): void {
    if (this.#guests.get(guest.player.id) === guest) {
      this.#guests.delete(guest.player.id);
    }
    guest.link.drop();
    this.#sig.unsubscribe(guest.player);
  }

  #toStreamer(guest: Guest, message: Record<string, unknown>): void {
    const streamer = guest.player.subscribedTo;
    if (streamer instanceof PsStreamer) {
      streamer.socket.send(message);
    } else {
      this.#sig.opts.drops.unroutable++;
    }
  }

  async #evict(replaced: StreamerRecord): Promise<void> {
    if (replaced.nodeId === this.nodeId) {
      const holder = this.#localStreamer(replaced.peerId);
      if (holder) {
        this.#sig.evict(holder);
      }
      return;
    }
    // Waited for, so that the old holder is gone before the new one is confirmed (as on one node).
    await this.#node.bus.request(replaced.nodeId, { type: 'ps.replace', streamerId: replaced.id, peerId: replaced.peerId }).catch((err: unknown) => {
      this.#log.warn({ err, streamerId: replaced.id }, 'pixel streaming: could not tell a node its streamer was replaced');
    });
  }

  #localStreamer(key: string): PsStreamer | undefined {
    return this.#sig.streamers.list().find((s) => s.clusterKey === key);
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
    this.#sig.endRemote(entry.player, entry.upstream, code, reason);
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
    if (nodeId === this.nodeId) {
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
    // Every node does this; releasing is idempotent.
    this.#writes.track(
      this.#node.directory.streamers().then((records) => {
        for (const r of records) {
          if (r.nodeId === nodeId) {
            this.#release(r.id, r);
          }
        }
      }),
    );
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
      this.#sig.endRemote(entry.player, entry.upstream);
    }
    for (let wait = 100; generation === this.#rejoins && this.#closing === undefined; wait = Math.min(wait * 2, 2_000)) {
      if (await this.#reclaimIds()) {
        return;
      }
      await new Promise<void>((resolve) => this.#opts.clock.setTimeout(resolve, wait));
    }
  }

  /** Claims this node's streamer ids again; false when some could not be (the directory is away). */
  async #reclaimIds(): Promise<boolean> {
    let done = true;
    for (const streamer of this.#sig.streamers.list()) {
      if (!streamer.identified || streamer.clusterKey === undefined) {
        continue;
      }
      const owner = { nodeId: this.nodeId, peerId: streamer.clusterKey };
      await this.#node.directory.claimStreamerId(streamer.id, owner, 'reject').catch((err: unknown) => {
        if (err instanceof AppError && err.code === 'CONFLICT') {
          this.#sig.evict(streamer);
        } else {
          done = false;
          this.#log.debug({ err, streamerId: streamer.id }, 'pixel streaming: could not claim a streamer id again yet');
        }
      });
    }
    return done;
  }

  #release(id: string, owner: { nodeId: NodeId; peerId: string }): void {
    this.#writes.track(
      this.#node.directory.releaseStreamerId(id, owner).catch((err: unknown) => {
        if (owner.nodeId === this.nodeId) {
          this.#unreleased.set(id, owner.peerId);
        }
        throw err;
      }),
    );
  }

  #retryReleases(): void {
    for (const [id, key] of [...this.#unreleased]) {
      this.#unreleased.delete(id);
      this.release(id, key);
    }
  }

  /** A message for another node, in order after the ones before it; a failure is only logged. */
  #request(to: NodeId, message: PsNodeMessage): void {
    this.#node.bus.request(to, message).catch((err: unknown) => {
      this.#log.debug({ err, to, type: message.type }, 'pixel streaming: a message to another node failed');
    });
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
