import type { RequestData, RequestResult, RequestType } from '@heliograph/protocol';
import type { Identity } from '../auth/identity.js';
import { AppError } from '../shared/app-error.js';
import type { Peer } from '../rooms/room.js';
import type { PeerSink } from '../rooms/peer-sink.js';

/** What a handler knows of the connection that sent the request. */
export interface Session {
  readonly identity: Identity;
  /** The peer this connection is in a room as, if it has joined one. */
  peer: Peer | undefined;
  readonly sink: PeerSink;
  /** True once the connection is closing; an async handler checks it before it commits anything. */
  readonly closing?: boolean;
  /** The client has processed every event up to `seq` (`session.ack`): they need not be kept for a resume. */
  acknowledge(seq: number): void;
}

/** A handler gets a validated, typed request body and returns the response body (or throws AppError). */
export type Handler<K extends RequestType> = (session: Session, data: RequestData<K>) => RequestResult<K> | Promise<RequestResult<K>>;

export type HandlerMap = { [K in RequestType]: Handler<K> };

/** The session's peer, or NOT_IN_ROOM. */
export function requirePeer(session: Session): Peer {
  if (!session.peer) {
    throw new AppError('NOT_IN_ROOM');
  }
  return session.peer;
}
