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
export type RoomEventType = keyof RoomEventMap;
export type RoomEventListener<K extends RoomEventType> = (event: RoomEventMap[K]) => void;

/**
 * A small typed emitter. A listener that throws is logged and does not stop the others or the
 * room change that emitted: the rooms never fail because an observer did.
 */
export class RoomEvents {
  readonly #listeners = new Map<RoomEventType, Set<(event: never) => void>>();

  constructor(private readonly logger: Logger) {}

  /** Subscribes; returns the function that unsubscribes. */
  on<K extends RoomEventType>(type: K, listener: RoomEventListener<K>): () => void {
    let set = this.#listeners.get(type);
    if (!set) {
      set = new Set();
      this.#listeners.set(type, set);
    }
    set.add(listener);
    return () => set.delete(listener);
  }

  emit<K extends RoomEventType>(type: K, event: RoomEventMap[K]): void {
    const set = this.#listeners.get(type);
    if (!set) {
      return;
    }
    for (const listener of set) {
      try {
        (listener as RoomEventListener<K>)(event);
      } catch (err) {
        this.logger.error({ err, event: type, room: event.room.id }, 'room event listener failed');
      }
    }
  }
}
