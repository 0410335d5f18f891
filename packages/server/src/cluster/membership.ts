import type { Clock } from '@heliograph/common';
import type { NodeId } from './bus.js';
import type { HeartbeatResult } from './transport.js';

/**
 * A node's view of who is alive, judged from its heartbeats' answers. After a reconnect and after
 * a failed or stalled heartbeat, nodes missing from the registry are not judged lost for one TTL:
 * a Redis that restarted empty, or hung past the TTL (every expiry passes at once), would
 * otherwise make every node report every other lost.
 */
export class Membership {
  #known = new Set<NodeId>();
  #beaten = false;
  /** Until then, nodes missing from the registry are not reported lost (it may have lost its data). */
  #graceUntil = 0;
  /** The last heartbeat failed: the registry stalled or was away, so the next result is not judged at once. */
  #lastBeatFailed = false;

  constructor(
    private readonly clock: Clock,
    private readonly ttlMs: number,
    private readonly self: NodeId,
  ) {}

  nodes(): NodeId[] {
    return [...this.#known];
  }

  has(node: NodeId): boolean {
    return this.#known.has(node);
  }

  /** The registry may have lost every node: give them one TTL to beat again before judging. */
  graceFromNow(): void {
    this.#graceUntil = this.clock.now() + this.ttlMs;
  }

  beatFailed(): void {
    this.#lastBeatFailed = true;
  }

  /** One heartbeat's answer: whether this node had been dropped, and which nodes were lost since the last. */
  judge({ wasPresent, members }: HeartbeatResult): { evicted: boolean; lost: NodeId[] } {
    const evicted = this.#beaten && !wasPresent;
    this.#beaten = true;
    if (this.#lastBeatFailed) {
      // After a stall every node's expiry passed at once, not because they died: one TTL of grace.
      this.#lastBeatFailed = false;
      this.#graceUntil = Math.max(this.#graceUntil, this.clock.now() + this.ttlMs);
    }
    const now = new Set(members);
    if (this.clock.now() < this.#graceUntil) {
      for (const id of now) {
        this.#known.add(id);
      }
      return { evicted, lost: [] };
    }
    const lost = [...this.#known].filter((id) => !now.has(id) && id !== this.self);
    this.#known = now;
    return { evicted, lost };
  }
}
