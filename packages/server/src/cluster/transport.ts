import type { NodeId } from './bus.js';

/** What one heartbeat learnt: whether this node was still registered, and who is alive. */
export interface HeartbeatResult {
  /** False when the registry had dropped this node (or never had it). */
  wasPresent: boolean;
  members: NodeId[];
  /** Where the live nodes that listen for direct links can be dialed (`host:port`), by node. */
  addresses: Record<NodeId, string>;
}

/**
 * The transport under a `ClusterBus`: raw channels of string frames and the liveness registry.
 * Implementations hold only transport code (memory hub, Redis); the protocol lives in ClusterBus.
 * Every method rejects with AppError UNAVAILABLE when the transport is down.
 */
export interface BusTransport {
  readonly connected: boolean;
  connect(): Promise<void>;
  /** Where frames of subscribed channels go (set by the bus). */
  onFrame: (channel: string, frame: string) => void;
  /** Called with true after a reconnect (subscriptions to restore) and false on a loss (set by the bus). */
  onConnectionChange: (connected: boolean) => void;
  /** Resolves with how many subscribers received the frame. */
  publish(channel: string, frame: string): Promise<number>;
  subscribe(channel: string): Promise<void>;
  unsubscribe(channel: string): Promise<void>;
  /**
   * Drops expired nodes, then registers `nodeId` as alive for `ttlMs` (on the registry's clock),
   * with the address of its direct links when it has them.
   */
  heartbeat(nodeId: NodeId, ttlMs: number, address?: string): Promise<HeartbeatResult>;
  leave(nodeId: NodeId): Promise<void>;
  close(): Promise<void>;
}
