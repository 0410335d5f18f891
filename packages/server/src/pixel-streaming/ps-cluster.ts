import type { ClaimRecord } from '../cluster/claims.js';
import type { PsPlayer, PsStreamer, RemoteStreamer } from './endpoints.js';

/** A streamer id held in the cluster: `name` is the id, `key` its place in the cluster's registration order. */
export type StreamerRecord = ClaimRecord;

/** What a streamer's claim of an id came to in the cluster. */
export type ClaimOutcome = { id: string } | { refused: 'in use' | 'unavailable' };

/** Streamer ids across the cluster (`cluster-ids.ts`). */
export interface PsClusterIds {
  /** Claims `wanted` in the directory under `duplicateStreamerIds`; a replaced holder is evicted first. */
  claim(streamer: PsStreamer, wanted: string): Promise<ClaimOutcome>;
  /** Gives an id back (retried when the cluster is back). */
  release(id: string, key: string): void;
  /** The identified streamers of the other nodes; undefined when the directory cannot be read. */
  remoteStreamers(): Promise<StreamerRecord[] | undefined>;
}

/**
 * What signalling asks of the cluster (`cluster-link.ts`). Without one, the node is a cluster of
 * one and every flow stays synchronous.
 */
export interface PsCluster {
  readonly ids: PsClusterIds;
  /** Ids of the other nodes' streamers that are not streaming (an SFU after `stopStreaming`); nodes that do not answer are taken as streaming. */
  stoppedElsewhere(): Promise<Set<string>>;
  /**
   * Subscribes a player of this node to a streamer of another (the player's presence peer joins
   * the streamer's room from here): its upstream on success, the `subscribeFailed` message on
   * failure, undefined when the player or the subscription is already gone (nothing more to do).
   */
  subscribe(player: PsPlayer, streamer: StreamerRecord): Promise<RemoteStreamer | string | undefined>;
  /** The player left its remote streamer: that streamer's node is told. */
  unsubscribe(player: PsPlayer, upstream: RemoteStreamer): void;
  /** A streamer of this node was renamed and is in its new room: the nodes of its remote players are told. */
  renamed(streamer: PsStreamer): void;
}
