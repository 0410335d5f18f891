import { roomPermissions, type EventType } from '@heliograph/protocol';
import { Room, type RoomLink } from '../rooms/room.js';
import type { JoinRequest, JoinResult, Rooms, RoomsCluster } from '../rooms/rooms.js';
import { AppError } from '../shared/app-error.js';
import type { TimerHandle } from '@heliograph/common';
import type { Logger } from '../shared/logger.js';
import type { NodeId } from './bus.js';
import type { ClusterNode } from './cluster-node.js';
import type { MemberRecord } from './directory.js';
import type { RoomChannelMessage } from './messages.js';
import { reportLost } from './lost-members.js';
import type { PeerPermissions } from '../rooms/peer-permissions.js';
import type { RoomCatalog } from '../rooms/room-catalog.js';
import { BackgroundWrites } from './background-writes.js';
import { ClusterCatalog, type OpenMode } from './cluster-catalog.js';
import { applyRoomEvent, homeNode, memberOf, mirrorOf } from './mirrors.js';
import { RemotePeers, type RemotePeersOptions } from './remote-peers.js';
import type { MoveHooks, RoomEventMessage } from './move-hooks.js';
import type { RemoteSink } from '../rooms/peer-sink.js';

export interface ClusterRoomsOptions extends Omit<RemotePeersOptions, 'arriving'> {
  logger: Logger;
  /** The node's room defaults; `maxPeers` is also the most a creator may ask for. */
  defaults: { maxPeers: number; emptyTimeoutMs: number };
}

/** A room this node is subscribed to: its channel, and the events heard before its snapshot. */
interface Subscription {
  unsubscribe: Promise<() => Promise<void>>;
  /** Until the room's snapshot is in, events are queued here and applied after it. */
  backlog: Array<{ message: RoomChannelMessage; from: NodeId }> | undefined;
}

const channelOf = (roomId: string): string => `room:${roomId}`;

/** How long a node waits before it tries again to write itself back into the directory. */
const RESTORE_RETRY_MS = 500;

/**
 * The room core across nodes. The directory (Redis) decides who is in a room, under its limit and
 * one session per user; every node keeps its own `Room` objects, holding its peers and mirrors
 * of the members on other nodes, kept current by the room's channel. Relays to a mirror become
 * `peer.deliver` requests to its node, acked once handed to the peer's connection.
 */
export class ClusterRooms implements RoomsCluster {
  readonly #node: ClusterNode;
  readonly #rooms: Rooms;
  readonly #opts: ClusterRoomsOptions;
  readonly #log: Logger;
  readonly #subs = new Map<string, Subscription>();
  /** Rooms being opened by a join (subscribe, read, snapshot), so that concurrent joins share it. */
  readonly #opening = new Map<string, Promise<Room>>();
  /** Peers (→ room) whose removal from the directory failed (Redis away): retried when it is back. */
  readonly #unremoved = new Map<string, string>();
  /**
   * Peers between their `addMember` and their admission here, and whether another node replaced
   * them meanwhile (its `peer.left` can overtake our own `addMember` reply: two connections).
   */
  readonly #joining = new Map<string, { superseded: boolean }>();
  /** Directory writes in flight, awaited by close(). */
  readonly #writes: BackgroundWrites;
  #closed = false;
  #restoreRetry: TimerHandle | undefined;
  readonly catalog: RoomCatalog;
  readonly #remote: RemotePeers;
  #moves: MoveHooks | undefined;

  constructor(options: ClusterRoomsOptions) {
    this.#node = options.node;
    this.#rooms = options.rooms;
    this.#opts = options;
    this.#log = options.logger;
    this.#writes = new BackgroundWrites(options.logger, 'cluster: a directory update failed');
    this.#rooms.attachCluster(this);
    this.#rooms.events.on('peer.left', ({ room, peer }) => {
      if (peer.local) {
        this.#removeMember(peer.id, room.id);
      }
    });
    this.catalog = new ClusterCatalog({
      open: (roomId, mode, create) => this.open(roomId, mode, create),
      node: options.node,
      rooms: options.rooms,
      defaultEmptyTimeoutMs: options.defaults.emptyTimeoutMs,
    });
    this.#remote = new RemotePeers({ ...options, arriving: (peerId) => this.#moves?.arriving(peerId) });
    this.#node.bus.onNodeLost((nodeId) => this.#nodeLost(nodeId));
    this.#node.bus.onConnectionChange((up) => {
      if (up) {
        void this.#resync();
      }
    });
  }

  get nodeId(): NodeId {
    return this.#node.nodeId;
  }

  /** The sink of node `nodeId`'s members: a relay to one of them is a request to that node. */
  sinkOf(nodeId: NodeId): RemoteSink {
    return this.#remote.sinkOf(nodeId);
  }

  /** Session hand-overs between nodes (once, at start-up). */
  attachMoves(moves: MoveHooks): void {
    this.#moves = moves;
  }

  /** Publishes a hand-over's message on a room's channel; `echo`: this node hears it too, in order. */
  publishMove(roomId: string, message: Extract<RoomChannelMessage, { type: 'peer.moving' | 'peer.moved' }>, echo: boolean): void {
    this.#publish(roomId, message, echo);
  }

  /** Whether a room exists anywhere in the cluster (the room service is asked before creating one). */
  async exists(roomId: string): Promise<boolean> {
    return this.#rooms.get(roomId) !== undefined || (await this.#node.directory.getRoom(roomId)) !== undefined;
  }

  /**
   * Joins across the cluster: the room is created (if allowed) and the member added in the
   * directory, atomically under the room's limit; the same user's older session, on any node,
   * is replaced. `cancelled()` is asked before the peer is admitted (the connection may be gone).
   */
  async join(req: JoinRequest, cancelled: () => boolean = () => false): Promise<JoinResult> {
    const { identity, roomId } = req;
    const may = roomPermissions(identity.grants, roomId);
    if (!may.join) {
      throw new AppError('FORBIDDEN', `The token does not grant joining room "${roomId}"`);
    }
    this.#assertConnected();
    const room = await this.open(roomId, may.create && req.createAllowed !== false ? 'join-or-create' : 'join', req.create);
    try {
      const peer = this.#rooms.newPeer(req, room);
      const joining = { superseded: false };
      this.#joining.set(peer.id, joining);
      const { replaced } = await this.#node.directory.addMember(memberOf(peer, this.nodeId)).finally(() => this.#joining.delete(peer.id));
      if (joining.superseded) {
        // The same user joined on another node right after: that newer session wins.
        req.sink.detached('replaced');
        throw new AppError('CONFLICT', `A newer session of user "${identity.userId}" joined room "${roomId}"`);
      }
      if (cancelled() || this.#closed || this.#rooms.get(roomId) !== room) {
        this.#removeMember(peer.id, roomId);
        throw new AppError('UNAVAILABLE', 'The connection closed while joining');
      }
      if (replaced) {
        this.#replaced(room, replaced);
      }
      const others = [...room.peers.values()].map((p) => p.info());
      this.#rooms.admit(peer);
      return { peer, room, others };
    } finally {
      this.#rooms.release(room);
    }
  }

  /** Closes every subscription after the last writes; ends the rooms this node leaves empty. */
  async close(): Promise<void> {
    if (this.#closed) {
      return;
    }
    this.#closed = true;
    this.#clearRestoreRetry();
    await this.#writes.settle();
    for (const room of this.#rooms.list()) {
      if (room.localSize > 0) {
        continue;
      }
      // The node goes away: a room it leaves empty ends now rather than never.
      const { deleted } = await this.#node.directory.deleteRoom(room.id, { onlyIfEmpty: true }).catch(() => ({ deleted: false }));
      if (deleted) {
        this.#rooms.finish(room, 'shutdown');
      }
    }
    for (const sub of this.#subs.values()) {
      await (await sub.unsubscribe.catch(() => async () => undefined))().catch(() => undefined);
    }
    this.#subs.clear();
  }

  // RoomsCluster: what the local rooms ask of the cluster.

  async retire(room: Room): Promise<boolean> {
    this.#unsubscribe(room.id);
    room.link = undefined;
    const { deleted } = await this.#node.directory.deleteRoom(room.id, { onlyIfEmpty: true });
    return deleted;
  }

  closed(room: Room, reason: string): void {
    this.#publish(room.id, { type: 'room.close', reason });
    this.#unsubscribe(room.id);
    this.#writes.track(this.#node.directory.deleteRoom(room.id));
  }

  updated(room: Room): void {
    this.#writes.track(this.#node.directory.updateRoom(room.id, { metadata: room.metadata }));
  }

  // Joining.

  /**
   * This node's object of a room, subscribed and mirrored; held (no empty timer) until the caller
   * calls `rooms.release(room)`. `create` fails CONFLICT when the room exists anywhere.
   */
  async open(roomId: string, mode: OpenMode, create?: JoinRequest['create']): Promise<Room> {
    this.#assertConnected();
    const existing = this.#rooms.get(roomId);
    let opening = this.#opening.get(roomId);
    if (mode === 'create' && (existing || opening)) {
      throw new AppError('CONFLICT', `Room "${roomId}" already exists`);
    }
    if (!existing && !opening) {
      opening = this.#openNew(roomId, mode, create).finally(() => this.#opening.delete(roomId));
      this.#opening.set(roomId, opening);
    }
    const room = existing ?? (await opening!);
    this.#rooms.hold(room);
    return room;
  }

  /** Subscribes to the room's channel, reads or creates the room, then mirrors its members. */
  async #openNew(roomId: string, mode: OpenMode, create: JoinRequest['create']): Promise<Room> {
    const { directory } = this.#node;
    const sub = this.#subscribe(roomId);
    try {
      await sub.unsubscribe;
      let record = mode === 'create' ? undefined : await directory.getRoom(roomId);
      let started = false;
      if (!record) {
        if (mode === 'join' || mode === 'observe') {
          throw new AppError('ROOM_NOT_FOUND', `Room "${roomId}" does not exist`);
        }
        const { defaults } = this.#opts;
        const spec = {
          roomId,
          maxPeers: Math.min(create?.maxPeers ?? defaults.maxPeers, defaults.maxPeers),
          metadata: create?.metadata ?? {},
          emptyTimeoutMs: create?.emptyTimeoutMs ?? defaults.emptyTimeoutMs,
        };
        ({ created: started, room: record } = await directory.createRoom(spec, this.#opts.clock.now()));
        if (!started && mode === 'create') {
          throw new AppError('CONFLICT', `Room "${roomId}" already exists`);
        }
      }
      const members = await directory.members(roomId);
      const room = this.#rooms.adopt(record, started, record.emptyTimeoutMs);
      room.link = this.#link(roomId);
      this.#mirror(room, members);
      for (const { message, from } of sub.backlog ?? []) {
        this.#apply(room, message, from);
      }
      sub.backlog = undefined;
      return room;
    } catch (err) {
      this.#unsubscribe(roomId);
      throw err;
    }
  }

  /** The same user's older session was removed from the directory: detach it wherever it is. */
  #replaced(room: Room, old: MemberRecord): void {
    const peer = room.peers.get(old.peerId);
    if (peer) {
      this.#rooms.detach(peer, 'replaced');
    } else {
      // Not mirrored here yet: its node still hears the room's channel.
      room.link?.publish('peer.left', `{"peerId":${JSON.stringify(old.peerId)},"reason":"replaced"}`, undefined);
    }
  }

  // The room's channel.

  #subscribe(roomId: string): Subscription {
    const sub: Subscription = {
      backlog: [],
      unsubscribe: this.#node.bus.subscribe(channelOf(roomId), (message, from) => this.#onRoomMessage(roomId, sub, message as RoomChannelMessage, from)),
    };
    sub.unsubscribe.catch(() => undefined);
    this.#subs.set(roomId, sub);
    return sub;
  }

  #unsubscribe(roomId: string): void {
    const sub = this.#subs.get(roomId);
    if (!sub) {
      return;
    }
    this.#subs.delete(roomId);
    this.#writes.track(sub.unsubscribe.then((off) => off()));
  }

  #link(roomId: string): RoomLink {
    return {
      publish: (type: EventType, dataJson: string, exceptId: string | undefined, permissions?: PeerPermissions) => {
        const message: RoomEventMessage = { type: 'room.event', event: type, data: dataJson, except: exceptId, permissions };
        const moves = this.#moves;
        const room = moves?.anyArriving && this.#node.bus.connected ? this.#rooms.get(roomId) : undefined;
        return this.#publish(roomId, message, room !== undefined && moves!.publishing(room, message));
      },
    };
  }

  /** Publishes on the room's channel; false (nothing sent) while the bus is down. */
  #publish(roomId: string, message: RoomChannelMessage, echo = false): boolean {
    if (!this.#node.bus.connected) {
      // The other nodes catch up on membership when Redis returns (#resync); data is not replayed.
      this.#log.debug({ room: roomId, type: message.type }, 'cluster: bus down, room event not published');
      return false;
    }
    this.#node.bus.publish(channelOf(roomId), message, echo ? { echo } : undefined).catch((err: unknown) => {
      this.#log.warn({ err, room: roomId, type: message.type }, 'cluster: could not publish a room event');
    });
    return true;
  }

  #onRoomMessage(roomId: string, sub: Subscription, message: RoomChannelMessage, from: NodeId): void {
    if (this.#subs.get(roomId) !== sub) {
      return;
    }
    if (sub.backlog) {
      sub.backlog.push({ message, from });
      return;
    }
    const room = this.#rooms.get(roomId);
    if (room) {
      this.#apply(room, message, from);
    }
  }

  /** An event another node published: update the mirrors, then tell this node's peers. */
  #apply(room: Room, message: RoomChannelMessage, from: NodeId): void {
    if (this.#moves?.heard(room, message, from) || message.type === 'peer.moving' || message.type === 'peer.moved') {
      return;
    }
    if (message.type === 'room.close') {
      this.#unsubscribe(room.id);
      this.#rooms.closeRoom(room, message.reason, false);
      return;
    }
    applyRoomEvent(this.#rooms, room, message, this.#remote.sinkOf(from), (peerId) => {
      const joining = this.#joining.get(peerId);
      if (joining) {
        joining.superseded = true;
      }
    });
  }

  // Failures.

  /** Another node died: its members leave every room here with `node_lost`. Or this node was dropped. */
  #nodeLost(nodeId: NodeId): void {
    if (nodeId === this.nodeId) {
      void this.#restoreSelf();
      return;
    }
    this.#remote.forget(nodeId);
    for (const room of this.#rooms.list()) {
      for (const peer of [...room.peers.values()]) {
        if (homeNode(peer) === nodeId) {
          this.#rooms.detach(peer, 'node_lost', undefined, 'local');
        }
      }
    }
    this.#writes.track(
      this.#node.directory
        .removeNode(nodeId)
        .then((members) => reportLost(members, { directory: this.#node.directory, rooms: this.#rooms, sinkOf: (node) => this.#remote.sinkOf(node) })),
    );
  }

  /**
   * The cluster had dropped this node (it missed heartbeats, or Redis lost its data): write it
   * back. The bus may be back before the directory's own connection is, so a failure is retried
   * (every `RESTORE_RETRY_MS`) until it works or the node closes.
   */
  async #restoreSelf(): Promise<void> {
    this.#clearRestoreRetry();
    try {
      const { members } = await this.#node.directory.restore();
      for (const m of members) {
        const peer = this.#rooms.get(m.roomId)?.peers.get(m.peerId);
        if (peer?.local) {
          // Another node took its place meanwhile (a newer session of the user, a full room).
          this.#rooms.detach(peer, 'replaced', 'the cluster lost track of this session');
        }
      }
      // restore() brings back the rooms with this node's members; the rooms this node holds
      // without any (created empty by the control API, awaiting their first joiner) come back too.
      for (const room of this.#rooms.list()) {
        if (room.link) {
          const { id: roomId, maxPeers, metadata, emptyTimeoutMs, createdAt } = room;
          await this.#node.directory.createRoom({ roomId, maxPeers, metadata, emptyTimeoutMs }, createdAt);
        }
      }
      this.#announceLocalMembers();
      await this.#resync();
    } catch (err) {
      if (this.#closed) {
        return;
      }
      this.#log.warn({ err }, 'cluster: could not restore this node after it was dropped; retrying');
      this.#restoreRetry = this.#opts.clock.setTimeout(() => void this.#restoreSelf(), RESTORE_RETRY_MS);
    }
  }

  #clearRestoreRetry(): void {
    this.#opts.clock.clearTimeout(this.#restoreRetry);
    this.#restoreRetry = undefined;
  }

  /**
   * After Redis returns: retry failed removals (and their `peer.left`), then add the members this
   * node missed. Mirrors are never dropped here: a member missing from the directory may be one
   * whose node is still writing it back after Redis lost its data; lost nodes are reported apart.
   */
  async #resync(): Promise<void> {
    for (const [peerId, roomId] of [...this.#unremoved]) {
      this.#unremoved.delete(peerId);
      this.#removeMember(peerId, roomId);
      // Its peer.left could not be published either: the mirrors elsewhere still hold it.
      this.#publish(roomId, { type: 'room.event', event: 'peer.left', data: `{"peerId":${JSON.stringify(peerId)},"reason":"left"}` });
    }
    for (const room of this.#rooms.list()) {
      const members = await this.#node.directory.members(room.id).catch(() => undefined);
      if (members && this.#rooms.get(room.id) === room) {
        this.#mirror(room, members);
      }
    }
  }

  /** Adds a mirror of each member of another node the room does not hold yet. */
  #mirror(room: Room, members: MemberRecord[]): void {
    for (const m of members) {
      if (m.nodeId !== this.nodeId && m.info && !room.peers.has(m.peerId)) {
        room.add(mirrorOf(m.info, this.#remote.sinkOf(m.nodeId), room, m.permissions), 'local');
      }
    }
  }

  /** Tells the other nodes again of this node's members (after writing them back to the directory). */
  #announceLocalMembers(): void {
    for (const room of this.#rooms.list()) {
      for (const peer of room.peers.values()) {
        if (peer.local) {
          room.link?.publish('peer.joined', `{"peer":${peer.infoJson()}}`, peer.id);
        }
      }
    }
  }

  #removeMember(peerId: string, roomId: string): void {
    this.#writes.track(
      this.#node.directory.removeMember(peerId).catch((err: unknown) => {
        this.#unremoved.set(peerId, roomId);
        throw err;
      }),
    );
  }

  #assertConnected(): void {
    if (this.#closed || !this.#node.bus.connected) {
      throw new AppError('UNAVAILABLE', 'The cluster is unreachable (Redis); try again shortly');
    }
  }
}
