import type { EventType, LeaveReason } from '@heliograph/protocol';
import { AppError } from '../shared/app-error.js';

/**
 * What became of an attempt to hand an event to a peer: handed to its connection, kept for it
 * while it reconnects (`queued`), not delivered, or left to its own node (`elsewhere`: a member
 * on another node gets a room's events from that node's copy of the room's publication).
 */
export type Delivery = 'ok' | 'queued' | 'gone' | 'overloaded' | 'elsewhere';

/** What a relay to one peer carries. */
export type RelayEvent = 'signal' | 'data';

/** The ack of a relay: `queued` when the recipient is reconnecting and it was kept for it. */
export interface RelayAck {
  queued?: true;
}

/**
 * Where a peer's events go. Rooms talk to peers only through this, so they never see sockets or
 * nodes: a peer of this node has its connection's sink, a member on another node a `RemoteSink`.
 */
export interface PeerSink {
  /** Hands an event whose `data` is already serialised to the peer. */
  sendEvent(type: EventType, dataJson: string): Delivery;
  /** The room let go of this peer for `reason` (replaced, kicked, room closed…) without it asking. */
  detached(reason: LeaveReason, detail?: string): void;
}

/**
 * The sink of a member whose connection is on another node (cluster mode). Its events come from
 * the room's publication on its own node (`sendEvent` answers `elsewhere`); a relay to it is a
 * request to that node, answered once the peer's connection has it.
 */
export interface RemoteSink extends PeerSink {
  readonly node: string;
  relay(to: RelayTarget, event: RelayEvent, dataJson: string): Promise<RelayAck>;
}

/** What a remote sink needs of the peer it relays to (`Peer`, in room.ts). */
export interface RelayTarget {
  readonly id: string;
  readonly room: { readonly id: string };
  /** A relay to the peer's node was sent. */
  routeStarted(): void;
  /** That relay was answered (or failed). */
  routeSettled(): void;
}

/** A sink that takes nothing: for a peer whose connection is gone (and in tests). */
export const NO_SINK: PeerSink = {
  sendEvent: () => 'gone',
  detached: () => undefined,
};

/**
 * Whether a sink leads to another node. Only the cluster layer asks (`cluster/mirrors.ts`
 * `homeNode`); rooms and handlers treat every peer alike (a test keeps it so).
 */
export function isRemote(sink: PeerSink): sink is RemoteSink {
  return 'relay' in sink;
}

/** The node a sink leads to; undefined for this node. */
export const nodeOf = (sink: PeerSink): string | undefined => (isRemote(sink) ? sink.node : undefined);

/** The ack of an event handed to a connection of this node, or the error the sender gets. */
export function ackOf(delivery: Delivery, peerId: string): RelayAck {
  if (delivery === 'ok') {
    return {};
  }
  if (delivery === 'queued') {
    return { queued: true };
  }
  if (delivery === 'overloaded') {
    throw new AppError('PEER_OVERLOADED', `Peer "${peerId}" could not keep up and was disconnected`);
  }
  throw new AppError('PEER_NOT_FOUND', `Peer "${peerId}" has gone`);
}
