import Type from 'typebox';
import { Compile } from 'typebox/compile';
import type { Peer, Room } from '../rooms/room.js';
import { PeerPermissions } from '../rooms/peer-permissions.js';
import type { PeerChanges, RoomCatalog, RoomSummary } from '../rooms/room-catalog.js';
import type { RoomCreateOptions, Rooms } from '../rooms/rooms.js';
import { AppError } from '../shared/app-error.js';
import type { ClusterNode } from './cluster-node.js';
import { homeNode } from './mirrors.js';

/** What a node answers to `peer.update`: the peer's permissions after the change. */
const checkUpdateReply = Compile(Type.Object({ permissions: PeerPermissions }));

/** How a room is opened on this node: by a join (create if allowed), by the control API (create, or only look). */
export type OpenMode = 'join' | 'join-or-create' | 'create' | 'observe';

/** Opens a room on this node (`ClusterRooms.open`): subscribed, mirrored, held until released. */
export type OpenRoom = (roomId: string, mode: OpenMode, create?: RoomCreateOptions) => Promise<Room>;

/**
 * The control API's and the lobby's view in a cluster: rooms come from the directory, a room is
 * opened on this node to be acted on (its members mirrored; it is let go after its empty
 * timeout), and a peer on another node is kicked, changed or sent to by its own node.
 */
export class ClusterCatalog implements RoomCatalog {
  /** `defaultEmptyTimeoutMs`: shown for rooms the directory has no lifetime for (created by an older version). */
  constructor(private readonly deps: { open: OpenRoom; node: ClusterNode; rooms: Rooms; defaultEmptyTimeoutMs: number }) {}

  async list(): Promise<RoomSummary[]> {
    const { directory } = this.deps.node;
    const ids = await directory.listRooms();
    const records = await Promise.all(ids.map((id) => directory.getRoom(id)));
    return records
      .filter((r) => r !== undefined)
      .map((r) => ({
        id: r.roomId,
        metadata: r.metadata,
        maxPeers: r.maxPeers,
        createdAt: r.createdAt,
        peers: r.memberCount,
        emptyTimeoutMs: r.emptyTimeoutMs ?? this.deps.defaultEmptyTimeoutMs,
      }));
  }

  find(roomId: string): Promise<Room> {
    return this.#opened(this.deps.open(roomId, 'observe'));
  }

  create(roomId: string, options: RoomCreateOptions): Promise<Room> {
    return this.#opened(this.deps.open(roomId, 'create', options));
  }

  async kick(peer: Peer, reason: string): Promise<void> {
    const node = homeNode(peer);
    if (node === undefined) {
      this.deps.rooms.kick(peer, reason);
      return;
    }
    await this.deps.node.bus.request(node, { type: 'peer.kick', room: peer.room.id, peerId: peer.id, reason });
  }

  async updatePeer(peer: Peer, changes: PeerChanges): Promise<PeerPermissions> {
    const node = homeNode(peer);
    if (node === undefined) {
      this.deps.rooms.updatePeer(peer, changes, true);
      return peer.permissions;
    }
    const reply = await this.deps.node.bus.request(node, { type: 'peer.update', room: peer.room.id, peerId: peer.id, changes });
    if (!checkUpdateReply.Check(reply)) {
      throw new AppError('INTERNAL', `Node ${node} answered peer.update with something else`);
    }
    // The holder's peer.updated reaches this node's mirror later; answer with the change now.
    peer.update(changes);
    peer.permissions = { ...reply.permissions };
    return peer.permissions;
  }

  async sendTo(peer: Peer, type: 'data', dataJson: string): Promise<void> {
    await peer.relay(type, dataJson);
  }

  /** The room, let go again at once: its empty timer runs if no peer of this node is in it. */
  async #opened(opening: Promise<Room>): Promise<Room> {
    const room = await opening;
    this.deps.rooms.release(room);
    return room;
  }
}
