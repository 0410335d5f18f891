import type { Clock } from '@heliograph/common';
import { BackgroundWrites } from '../cluster/background-writes.js';
import type { NodeId } from '../cluster/bus.js';
import type { ClusterNode } from '../cluster/cluster-node.js';
import type { ClaimOwner, ClaimPolicy } from '../cluster/claims.js';
import { AppError } from '../shared/app-error.js';
import type { Logger } from '../shared/logger.js';
import type { PsStreamer } from './endpoints.js';
import { PS_MODULE, type PsNodeMessage } from './node-messages.js';
import type { ClaimOutcome, PsClusterIds, StreamerRecord } from './ps-cluster.js';
import type { PsSignalling } from './signalling.js';

export interface ClusterIdsOptions {
  node: ClusterNode;
  sig: PsSignalling;
  clock: Clock;
  logger: Logger;
  /** `pixelStreaming.duplicateStreamerIds`, applied by the directory across the cluster. */
  policy: ClaimPolicy;
}

/** Cluster-wide sequences: player ids (players and SFUs share one, as in Wilbur) and streamer order. */
const PLAYER_SEQUENCE = 'ps-player';
const STREAMER_SEQUENCE = 'ps-streamer';
/** The directory's claim space of streamer ids (Redis `P:claims:streamers`). */
const STREAMER_IDS = 'streamers';

/**
 * The dialect's ids across a cluster: streamer ids are claimed in the directory (a generic
 * claim space the cluster core knows nothing about), player ids come from a cluster-wide
 * sequence. Releases that fail are retried when Redis is back.
 */
export class ClusterIds implements PsClusterIds {
  readonly #opts: ClusterIdsOptions;
  /** Streamer ids (→ claim key) whose release failed: retried when Redis is back. */
  readonly #unreleased = new Map<string, string>();
  readonly #writes: BackgroundWrites;
  #fallbackIds = 0;

  constructor(options: ClusterIdsOptions) {
    this.#opts = options;
    this.#writes = new BackgroundWrites(options.logger, 'pixel streaming: a cluster directory update failed');
    options.node.bus.onConnectionChange((up) => {
      if (up) {
        for (const [id, key] of [...this.#unreleased]) {
          this.#unreleased.delete(id);
          this.release(id, key);
        }
      }
    });
  }

  /** Once the node is in the cluster: frees streamer ids held by nodes that are no longer alive. */
  async start(): Promise<void> {
    const alive = new Set(this.#opts.node.bus.nodes());
    await this.#releaseHeld((nodeId) => !alive.has(nodeId)).catch(() => undefined);
    await this.#writes.settle();
  }

  /**
   * A player id unique in the cluster, `Player<n>`. While the directory cannot be reached,
   * `Player-<node id>-<n>`: still unique, so players of this node's streamers carry on.
   */
  async playerId(): Promise<string> {
    for (;;) {
      let id: string;
      try {
        // Started after the time in ms, so that a Redis that lost its data never hands out an id again.
        id = `Player${await this.#opts.node.directory.nextId(PLAYER_SEQUENCE, this.#opts.clock.now())}`;
      } catch (err) {
        this.#opts.logger.warn({ err }, 'pixel streaming: no cluster player id; using a node-scoped one');
        id = `Player-${this.#opts.node.nodeId}-${this.#fallbackIds++}`;
      }
      // A sequence restarted by a Redis that lost its data must not reuse an id held here.
      if (!this.#opts.sig.players.has(id)) {
        return id;
      }
    }
  }

  async claim(streamer: PsStreamer, wanted: string): Promise<ClaimOutcome> {
    const { directory } = this.#opts.node;
    try {
      streamer.clusterKey ??= String(await directory.nextId(STREAMER_SEQUENCE, this.#opts.clock.now()));
      const { name, replaced } = await directory.claim(STREAMER_IDS, wanted, { nodeId: this.#opts.node.nodeId, key: streamer.clusterKey }, this.#opts.policy);
      if (replaced) {
        await this.#evict(replaced);
      }
      return { id: name };
    } catch (err) {
      if (err instanceof AppError && err.code === 'CONFLICT') {
        return { refused: 'in use' };
      }
      this.#opts.logger.warn({ err, streamerId: wanted }, 'pixel streaming: could not claim a streamer id');
      return { refused: 'unavailable' };
    }
  }

  release(id: string, key: string): void {
    this.#release(id, { nodeId: this.#opts.node.nodeId, key });
  }

  async remoteStreamers(): Promise<StreamerRecord[] | undefined> {
    try {
      return (await this.#opts.node.directory.claims(STREAMER_IDS)).filter((r) => r.nodeId !== this.#opts.node.nodeId);
    } catch (err) {
      this.#opts.logger.warn({ err }, 'pixel streaming: cannot read the cluster streamer list');
      return undefined;
    }
  }

  /** `ps.replace`: another node took this streamer id under `duplicateStreamerIds: replace`. */
  replaced(m: Extract<PsNodeMessage, { type: 'ps.replace' }>): Record<string, never> {
    const holder = this.#localStreamer(m.key);
    if (holder?.id === m.streamerId) {
      this.#opts.sig.evict(holder);
    }
    return {};
  }

  /** Every node does this for a lost node; releasing is idempotent. */
  releaseNode(nodeId: NodeId): void {
    this.#writes.track(this.#releaseHeld((holder) => holder === nodeId));
  }

  async #releaseHeld(by: (nodeId: NodeId) => boolean): Promise<void> {
    for (const r of await this.#opts.node.directory.claims(STREAMER_IDS)) {
      if (by(r.nodeId)) {
        this.#release(r.name, r);
      }
    }
  }

  /** After the cluster dropped this node: claims its streamer ids again; false when some could not be (the directory is away). */
  async reclaim(): Promise<boolean> {
    let done = true;
    for (const streamer of this.#opts.sig.streamers.list()) {
      if (!streamer.identified || streamer.clusterKey === undefined) {
        continue;
      }
      const owner = { nodeId: this.#opts.node.nodeId, key: streamer.clusterKey };
      await this.#opts.node.directory.claim(STREAMER_IDS, streamer.id, owner, 'reject').catch((err: unknown) => {
        if (err instanceof AppError && err.code === 'CONFLICT') {
          this.#opts.sig.evict(streamer);
        } else {
          done = false;
          this.#opts.logger.debug({ err, streamerId: streamer.id }, 'pixel streaming: could not claim a streamer id again yet');
        }
      });
    }
    return done;
  }

  /** Waits for the directory writes under way (id releases). */
  close(): Promise<void> {
    return this.#writes.settle();
  }

  async #evict(replaced: StreamerRecord): Promise<void> {
    if (replaced.nodeId === this.#opts.node.nodeId) {
      const holder = this.#localStreamer(replaced.key);
      if (holder) {
        this.#opts.sig.evict(holder);
      }
      return;
    }
    // Waited for, so that the old holder is gone before the new one is confirmed (as on one node).
    const message: PsNodeMessage = { type: 'ps.replace', streamerId: replaced.name, key: replaced.key };
    await this.#opts.node.requestModule(replaced.nodeId, PS_MODULE, message).catch((err: unknown) => {
      this.#opts.logger.warn({ err, streamerId: replaced.name }, 'pixel streaming: could not tell a node its streamer was replaced');
    });
  }

  #localStreamer(key: string): PsStreamer | undefined {
    return this.#opts.sig.streamers.list().find((s) => s.clusterKey === key);
  }

  #release(id: string, owner: ClaimOwner): void {
    this.#writes.track(
      this.#opts.node.directory.release(STREAMER_IDS, id, owner).catch((err: unknown) => {
        if (owner.nodeId === this.#opts.node.nodeId) {
          this.#unreleased.set(id, owner.key);
        }
        throw err;
      }),
    );
  }
}
