import type { Room } from '../rooms/room.js';
import type { NodeId } from './bus.js';
import type { RoomChannelMessage } from './messages.js';

/** A room event as it goes on the room's channel. */
export type RoomEventMessage = Extract<RoomChannelMessage, { type: 'room.event' }>;

/** What a session hand-over (`session-handover.ts`) needs to hear of the rooms' channels. */
export interface MoveHooks {
  /** Whether any peer is arriving here now (only then does a broadcast need `publishing`). */
  readonly anyArriving: boolean;
  /** Every message heard on a room's channel, before it is applied; true for the hand-over's own (nothing else to do). */
  heard(room: Room, message: RoomChannelMessage, from: NodeId): boolean;
  /**
   * An event this node is about to publish while a peer arrives: true to publish it with `echo`,
   * so that its place relative to `peer.moving` tells which node gives it to that peer.
   */
  publishing(room: Room, message: RoomEventMessage): boolean;
  /** Resolves once a peer arriving here is in place; undefined when none is arriving. */
  arriving(peerId: string): Promise<void> | undefined;
}
