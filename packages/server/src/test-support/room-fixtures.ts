import type { RoomGrant, EventType, LeaveReason } from '@heliograph/protocol';
import { FakeClock } from '@heliograph/common';
import type { Identity } from '../auth/identity.js';
import type { Session } from '../handlers/handler.js';
import type { Delivery, PeerSink } from '../rooms/peer-sink.js';
import { Rooms } from '../rooms/rooms.js';
import { sequentialIds } from '../shared/ids.js';
import { createLogger } from '../shared/logger.js';

/** One event a `RecordingSink` was handed, its data parsed. */
export interface SinkEvent {
  type: EventType;
  data: unknown;
}

/**
 * A peer's sink for unit tests: records every event and detachment, and answers with whatever
 * `delivery` is set to (a connection that is gone, overloaded or reconnecting).
 */
export class RecordingSink implements PeerSink {
  readonly events: SinkEvent[] = [];
  readonly detachments: Array<{ reason: LeaveReason; detail: string | undefined }> = [];
  delivery: Delivery = 'ok';

  sendEvent(type: EventType, dataJson: string): Delivery {
    if (this.delivery === 'ok' || this.delivery === 'queued') {
      this.events.push({ type, data: JSON.parse(dataJson) as unknown });
    }
    return this.delivery;
  }

  detached(reason: LeaveReason, detail?: string): void {
    this.detachments.push({ reason, detail });
  }

  /** The types of the events recorded, in order. */
  types(): EventType[] {
    return this.events.map((e) => e.type);
  }
}

/** A verified identity; by default it may join and create every room. */
export function identity(userId: string, grants: RoomGrant[] = [{ room: '*', join: true, create: true }], extra: Partial<Identity> = {}): Identity {
  return { userId, grants, expiresAt: Number.MAX_SAFE_INTEGER, ...extra };
}

export interface RoomsFixture {
  clock: FakeClock;
  rooms: Rooms;
}

/** A node's rooms on fake time, with predictable ids (`PR_1`, `PR_2`…). */
export function roomsOnFakeTime(defaults = { maxPeers: 4, emptyTimeoutMs: 1000 }): RoomsFixture {
  const clock = new FakeClock();
  const rooms = new Rooms({ clock, ids: sequentialIds(), logger: createLogger('silent'), defaults });
  return { clock, rooms };
}

/** The room events of `rooms` as short lines (`peer.left PR_1 replaced`), in the order emitted. */
export function roomEventLog(rooms: Rooms): string[] {
  const log: string[] = [];
  rooms.events.on('room.started', ({ room }) => log.push(`room.started ${room.id}`));
  rooms.events.on('room.finished', ({ room, reason }) => log.push(`room.finished ${room.id} ${reason}`));
  rooms.events.on('peer.joined', ({ peer }) => log.push(`peer.joined ${peer.id}`));
  rooms.events.on('peer.left', ({ peer, reason }) => log.push(`peer.left ${peer.id} ${reason}`));
  rooms.events.on('peer.updated', ({ peer }) => log.push(`peer.updated ${peer.id}`));
  return log;
}

/** A connection as a handler sees it, its sink recording what it is sent. */
export interface FakeSession extends Session {
  readonly sink: RecordingSink;
  closing: boolean;
  readonly acked: number[];
}

export function fakeSession(userId: string, grants?: RoomGrant[], extra: Partial<Identity> = {}): FakeSession {
  const acked: number[] = [];
  return {
    identity: identity(userId, grants, extra),
    peer: undefined,
    sink: new RecordingSink(),
    closing: false,
    acked,
    acknowledge: (seq) => acked.push(seq),
  };
}
