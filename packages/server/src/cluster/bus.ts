/** A node's id, unique in the cluster for the life of the process (a fresh one at every start). */
export type NodeId = string;

/**
 * A message between nodes: a discriminated union on `type`, JSON-serialisable. The room core
 * defines its own union (`NodeMessage`, `messages.ts`) and uses `ClusterBus<NodeMessage>`.
 */
export interface ClusterMessage {
  type: string;
}

/** Called with each message another node published on a channel this node subscribed to. */
export type MessageHandler<M extends ClusterMessage> = (message: M, from: NodeId) => void;

/**
 * Answers a request from another node. The returned value (JSON) is the reply; a thrown
 * `AppError` reaches the requester as the same code and message, anything else as INTERNAL.
 */
export type RequestHandler<M extends ClusterMessage> = (message: M, from: NodeId) => unknown;

export interface PublishOptions {
  /**
   * This node hears the message too, at its place in the channel's order: everything published
   * on the channel before it has then reached this node (a session hand-over needs that point).
   */
  echo?: boolean | undefined;
}

/** Timing of heartbeats and requests; the defaults keep node loss under 10 s. */
export interface BusTiming {
  heartbeatIntervalMs: number;
  /** A node not heard from for this long is lost. */
  heartbeatTtlMs: number;
  /** Default timeout of `request()`. */
  requestTimeoutMs: number;
}

/** 2 s beats, 6 s TTL (a crash is reported within 8 s), 5 s requests. */
export const DEFAULT_BUS_TIMING: BusTiming = {
  heartbeatIntervalMs: 2_000,
  heartbeatTtlMs: 6_000,
  requestTimeoutMs: 5_000,
};
