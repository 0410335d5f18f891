import { EventHub, type PayloadEvents } from '@heliograph/common';
import type { LeaveReason } from '@heliograph/protocol';
import type { Logger } from '../shared/logger.js';
import type { Peer } from './room.js';
import type { Room } from './room.js';

/**
 * What happened in the rooms of this node (and, in a cluster, to the members of a lost node, when
 * this node was the one to clean up after it), for whoever needs to know beyond the room's own peers
 * (webhooks, TURN credential refresh, metrics). Listeners run synchronously, in the same tick as
 * the change and before the request that caused it is answered.
 */
export interface RoomEventMap {
  /** A room came into being (first join with `create`, or the control API). */
  'room.started': { room: Room };
  /** A room ended: closed by the control API, deleted after being empty, or the node stopped. */
  'room.finished': { room: Room; reason: RoomFinishReason };
  'peer.joined': { room: Room; peer: Peer };
  'peer.left': { room: Room; peer: Peer; reason: LeaveReason };
  /** A peer's name, metadata or permissions changed. */
  'peer.updated': { room: Room; peer: Peer };
}

/** `node_lost`: in a cluster, the room's last members were on a node that died (reported by a survivor). */
export type RoomFinishReason = 'closed' | 'empty' | 'shutdown' | 'node_lost';

/**
 * The rooms' events. A listener that throws is logged and does not stop the others or the room
 * change that emitted: the rooms never fail because an observer did.
 */
export class RoomEvents extends EventHub<PayloadEvents<RoomEventMap>> {
  constructor(logger: Logger) {
    super((err, event, [payload]) => logger.error({ err, event, room: payload.room.id }, 'room event listener failed'));
  }
}
