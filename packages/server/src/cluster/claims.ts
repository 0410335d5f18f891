import type { NodeId } from './bus.js';

/** Who holds a claimed name: a node, and that node's own key for the holder. */
export interface ClaimOwner {
  nodeId: NodeId;
  key: string;
}

export interface ClaimRecord extends ClaimOwner {
  name: string;
}

/** What to do when a name another owner holds is claimed: take `Name1`, `Name2`…; take it over; or fail. */
export type ClaimPolicy = 'rename' | 'replace' | 'reject';

export interface ClaimResult {
  /** The name granted: the one asked for, or `Name1`, `Name2`… under `rename`. */
  name: string;
  /** Under `replace`: the holder that lost the name (its node must let it go). */
  replaced?: ClaimRecord | undefined;
}

/**
 * What the directory keeps for modules the cluster core does not know: names claimed in a
 * `space` of their own, and cluster-wide sequences. (Pixel Streaming keeps its streamer ids and
 * player numbers here; the directory does not know what they mean.)
 */
export interface ModuleClaims {
  /**
   * Claims a name, unique within `space` across the cluster, under `policy`; `reject` fails with
   * CONFLICT. Re-claiming one's own name keeps it.
   */
  claim(space: string, name: string, owner: ClaimOwner, policy: ClaimPolicy): Promise<ClaimResult>;
  /** Releases `name` if `owner` holds it. */
  release(space: string, name: string, owner: ClaimOwner): Promise<boolean>;
  claims(space: string): Promise<ClaimRecord[]>;
  /**
   * The next number of a cluster-wide sequence (ids unique in the cluster). A sequence that
   * does not exist yet (new, or gone with Redis's data) starts after `startAfter` (default 0, so
   * 1, 2, 3…): a caller that passes the time in ms never sees a number repeat after a data loss.
   */
  nextId(sequence: string, startAfter?: number): Promise<number>;
}
