/** A node's id, unique in the cluster for the life of the process (a fresh one at every start). */
export type NodeId = string;

/**
 * A message between nodes: a discriminated union on `type`, JSON-serialisable. The room core
 * defines its own union (`NodeMessage`, `messages.ts`) and uses `Bus<NodeMessage>`.
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

/** The message bus between the nodes of a cluster: pub/sub, request/reply, liveness. */
export interface Bus<M extends ClusterMessage = ClusterMessage> {
  readonly nodeId: NodeId;
  /** Whether the bus can reach the others: Redis connected and subscriptions restored (memory: until closed). */
  readonly connected: boolean;
  /** Subscribes, heartbeats once and starts the heartbeat timer. Rejects UNAVAILABLE when unreachable, and is then closed. */
  start(): Promise<void>;
  /**
   * Publishes to every other node subscribed to `channel` (a node never hears its own, unless
   * `echo`).
   * Resolves once handed to the transport; rejects UNAVAILABLE when it cannot be, never queues.
   */
  publish(channel: string, message: M, options?: PublishOptions): Promise<void>;
  /**
   * Adds a handler for `channel`; resolves once the subscription is live. The bus restores its
   * subscriptions by itself after a reconnect. Returns the function that removes the handler.
   */
  subscribe(channel: string, handler: MessageHandler<M>): Promise<() => Promise<void>>;
  /**
   * Sends `message` to node `to` and resolves with its reply. Rejects UNAVAILABLE when the bus is
   * down, the node is not listening or is lost while waiting; TIMEOUT after `timeoutMs`; or with
   * the error the other node's handler threw. Never hangs. A request to this node's own id is
   * answered by its own handler, without the transport (so it works while Redis is down).
   */
  request(to: NodeId, message: M, timeoutMs?: number): Promise<unknown>;
  /** Sets the one handler for requests to this node (the room core dispatches on `type`). */
  onRequest(handler: RequestHandler<M>): void;
  /** The nodes currently alive by their heartbeats, this one included once it has beaten. */
  nodes(): NodeId[];
  /**
   * Called when a node's heartbeat expired or it left. Called with this node's own id when the
   * cluster had dropped it (heartbeats missed, or Redis lost its data): re-register local state.
   */
  onNodeLost(handler: (nodeId: NodeId) => void): void;
  /** Called when `connected` changes. */
  onConnectionChange(handler: (connected: boolean) => void): void;
  /** Stops heartbeats, leaves the cluster (the others see it lost at once), rejects pending requests. Idempotent. */
  close(): Promise<void>;
}

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
