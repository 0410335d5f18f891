import type { EventType, RequestId } from '@heliograph/protocol';
import type { PeerPermissions } from '../rooms/peer-permissions.js';
import type { PeerChanges } from '../rooms/room-catalog.js';
import type { NodeId } from './bus.js';
import type { InspectRecord, InspectTarget } from '../inspector/records.js';

/**
 * What nodes say to each other. Published on a room's channel (`room:<id>`) and heard once by
 * every node with members in that room:
 * - `room.event`: an event of the room, already serialised, for the node's own peers of it; the
 *   membership events (`peer.joined`, `peer.left`, `peer.updated`, `room.updated`) also update the
 *   node's mirror of the room's remote members;
 * - `room.close`: the room was closed (control API); every node detaches its peers.
 */
export type RoomChannelMessage =
  | {
      type: 'room.event';
      event: EventType;
      data: string;
      except?: string | undefined;
      permissions?: PeerPermissions | undefined;
      /**
       * Peers arriving on the publishing node by a hand-over, which that node gave the event itself.
       * Earlier versions sent it; it is still honoured so that a rolling deploy mixes versions safely.
       */
      skip?: string[] | undefined;
    }
  | { type: 'room.close'; reason: string }
  | MoveMessage;

/**
 * A session hand-over (`cluster/session-handover.ts`) on the room's channel:
 * - `peer.moving`: published (and heard back) by the node giving the peer up, at the moment it
 *   took its snapshot; the position in the channel's order where the new node takes over;
 * - `peer.moved`: the old node stopped forwarding, after `forwarded` forwards; every node now
 *   reaches the peer on `to`.
 */
export type MoveMessage = { type: 'peer.moving'; peerId: string; to: NodeId } | { type: 'peer.moved'; peerId: string; to: NodeId; forwarded: number };

/**
 * Requests to one node, answered once it has done them:
 * - `peer.deliver`: hand `signal` or `data` to a peer of that node; `{}` once handed to its
 *   connection, else PEER_NOT_FOUND or PEER_OVERLOADED (the sender's ack means exactly that);
 * - `peer.kick`, `peer.update`: the control API, reached on another node, acts on a peer of this one.
 */
export type NodeRequest =
  | { type: 'peer.deliver'; room: string; to: string; event: 'signal' | 'data'; data: string; forwarded?: true }
  | SessionRequest
  | { type: 'peer.kick'; room: string; peerId: string; reason: string }
  | { type: 'peer.update'; room: string; peerId: string; changes: PeerChanges };

/**
 * Resuming a session held by another node (`cluster/session-handover.ts`), from the new node to
 * the holder, then from the holder back:
 * - `session.claim`: checks the secret and that the replay is still kept; answers `{ room? }`, the
 *   room the new node must follow before the hand-over;
 * - `session.handover`: the holder gives the session up and answers its `HandoverState`;
 * - `session.event`, `session.answer`: what the old holder gave the session after its snapshot (an
 *   event, the answer of a request it was still handling), forwarded in order.
 */
export type SessionRequest =
  | { type: 'session.claim'; session: string; secret: string; userId: string; lastSeq: number }
  | { type: 'session.handover'; session: string; secret: string; userId: string; lastSeq: number }
  | { type: 'session.event'; session: string; event: EventType; data: string }
  | { type: 'session.answer'; session: string; id: RequestId; frame: string };

/** Every message of the bus, as one union (modules such as Pixel Streaming send theirs as `module.request`). */
export type NodeMessage = RoomChannelMessage | NodeRequest | ConsoleMessage | ModuleRequest;

/**
 * The operator console (`admin/`, `inspector/`):
 * - `console.stats`: a request to one node for its figures (`NodeStats`); `console.history`: for
 *   its figures of the last minutes (`NodeStats[]`);
 * - `inspect.start` / `inspect.stop` on channel `inspector`: every node captures the signalling
 *   of `target` until stopped or until `ttlMs` passes without a renewing `inspect.start`;
 * - `inspect.records` on channel `inspect:<capture>`: what a node captured, for the watching node.
 */
export type ConsoleMessage =
  | { type: 'console.stats' }
  | { type: 'console.history' }
  | { type: 'inspect.start'; capture: string; target: InspectTarget; ttlMs: number }
  | { type: 'inspect.stop'; capture: string }
  | { type: 'inspect.records'; records: InspectRecord[] };

/**
 * A request for a module the cluster core does not know (`ClusterNode.handleModule`): `module`
 * names the handler, `body` is its own JSON, and the reply is whatever that handler returns.
 */
export type ModuleRequest = { type: 'module.request'; module: string; body: unknown };
