import type { Clock } from '@heliograph/common';
import { AppError } from '../shared/app-error.js';
import type { ClusterMessage, NodeId } from '../cluster/bus.js';
import { ClusterBus, type BusNodeOptions } from '../cluster/cluster-bus.js';
import type { BusTransport, HeartbeatResult } from '../cluster/transport.js';

/** What the in-memory nodes of a test cluster share: their transports and the liveness registry. */
export class MemoryHub {
  readonly clock: Clock;
  readonly transports = new Set<MemoryTransport>();
  /** nodeId → expiry time on the hub's clock. */
  readonly #expiries = new Map<NodeId, number>();
  readonly #addresses = new Map<NodeId, string>();

  constructor(clock: Clock) {
    this.clock = clock;
  }

  heartbeat(nodeId: NodeId, ttlMs: number, address?: string): HeartbeatResult {
    const now = this.clock.now();
    for (const [id, until] of this.#expiries) {
      if (until <= now) {
        this.leave(id);
      }
    }
    const wasPresent = this.#expiries.has(nodeId);
    this.#expiries.set(nodeId, now + ttlMs);
    if (address !== undefined) {
      this.#addresses.set(nodeId, address);
    }
    return { wasPresent, members: [...this.#expiries.keys()], addresses: Object.fromEntries(this.#addresses) };
  }

  leave(nodeId: NodeId): void {
    this.#expiries.delete(nodeId);
    this.#addresses.delete(nodeId);
  }

  /** Forgets the node registry, like a Redis restarted without persistence (for tests). */
  wipeRegistry(): void {
    this.#expiries.clear();
    this.#addresses.clear();
  }
}

/** A transport on a `MemoryHub`. `crash()` makes it vanish without leaving, like `kill -9`. */
export class MemoryTransport implements BusTransport {
  readonly #hub: MemoryHub;
  readonly #channels = new Set<string>();
  onFrame: (channel: string, frame: string) => void = () => undefined;
  onConnectionChange: (connected: boolean) => void = () => undefined;
  #up = false;
  #closed = false;

  constructor(hub: MemoryHub) {
    this.#hub = hub;
    hub.transports.add(this);
  }

  get connected(): boolean {
    return this.#up;
  }

  async connect(): Promise<void> {
    this.#check(false);
    this.#up = true;
  }

  /** Loses the hub, as a Redis connection would (for tests): subscriptions are gone, calls fail. */
  disconnect(): void {
    if (this.#up) {
      this.crash();
      this.onConnectionChange(false);
    }
  }

  /** Reaches the hub again after `disconnect()`; the bus resubscribes. */
  reconnect(): void {
    if (!this.#up && !this.#closed) {
      this.#up = true;
      this.onConnectionChange(true);
    }
  }

  async publish(channel: string, frame: string): Promise<number> {
    this.#check();
    const subs = [...this.#hub.transports].filter((t) => t.#channels.has(channel));
    // Delivered on a later turn, like a network would: a publisher never re-enters itself.
    queueMicrotask(() => {
      for (const t of subs) {
        if (t.#up) {
          t.onFrame(channel, frame);
        }
      }
    });
    return subs.length;
  }

  async subscribe(channel: string): Promise<void> {
    this.#check();
    this.#channels.add(channel);
  }

  async unsubscribe(channel: string): Promise<void> {
    this.#check();
    this.#channels.delete(channel);
  }

  async heartbeat(nodeId: NodeId, ttlMs: number, address?: string): Promise<HeartbeatResult> {
    this.#check();
    return this.#hub.heartbeat(nodeId, ttlMs, address);
  }

  async leave(nodeId: NodeId): Promise<void> {
    this.#check();
    this.#hub.leave(nodeId);
  }

  /** Stops hearing and speaking at once, leaving the registry entry to expire. */
  crash(): void {
    this.#up = false;
    this.#channels.clear();
  }

  async close(): Promise<void> {
    this.#closed = true;
    this.crash();
    this.#hub.transports.delete(this);
  }

  #check(mustBeUp = true): void {
    if (this.#closed || (mustBeUp && !this.#up)) {
      throw new AppError('UNAVAILABLE', 'The in-memory bus is closed');
    }
  }
}

export interface MemoryBusOptions<M extends ClusterMessage = ClusterMessage> extends BusNodeOptions<M> {
  /** Shared by the nodes of one in-memory cluster; its clock drives the liveness registry. */
  hub: MemoryHub;
  /** The node's clock (heartbeat timer, request timeouts); usually the hub's. */
  clock?: Clock | undefined;
}

/** A bus whose nodes live in this process, sharing a hub (tests). */
export function createMemoryBus<M extends ClusterMessage = ClusterMessage>(options: MemoryBusOptions<M>): { bus: ClusterBus<M>; transport: MemoryTransport } {
  const { hub, clock, ...node } = options;
  const transport = new MemoryTransport(hub);
  const bus = new ClusterBus<M>({ ...node, transport, clock: clock ?? hub.clock });
  return { bus, transport };
}
