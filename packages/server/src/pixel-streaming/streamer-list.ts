import { roomPermissions } from '@heliograph/protocol';
import type { PsPlayer, PsStreamer } from './endpoints.js';
import { presenceRoomId } from './presence.js';
import type { StreamerRecord } from './ps-cluster.js';

/** One entry of the cluster's streamer order. */
export interface ListedStreamer {
  id: string;
  identified: boolean;
  streaming: boolean;
}

/** Whether a player's token (if any) lets it join the streamer's presence room. */
export function mayJoin(player: PsPlayer, streamerId: string): boolean {
  return !player.identity || roomPermissions(player.identity.grants, presenceRoomId(streamerId)).join;
}

/** Where a streamer stands in the cluster's registration order (its claim key is a sequence number). */
export function orderOf(key: string | undefined): number {
  const n = Number(key);
  return key !== undefined && Number.isFinite(n) ? n : Number.POSITIVE_INFINITY;
}

/** The ids a player may see on one node, in registration order: streaming and (with player auth) granted to it. */
export function localList(player: PsPlayer, local: readonly PsStreamer[]): string[] {
  if (player.type === 'SFU') {
    return local.map((s) => s.id); // Epic lists everything to SFUs, itself included.
  }
  return local.filter((s) => s.streaming && mayJoin(player, s.id)).map((s) => s.id);
}

/**
 * Every node's streamers in the order they first identified anywhere in the cluster, then this
 * node's unidentified ones.
 */
export function clusterOrder(local: readonly PsStreamer[], remote: readonly StreamerRecord[], stopped: ReadonlySet<string> = new Set()): ListedStreamer[] {
  const identified = [
    ...local.filter((s) => s.identified).map((s) => ({ id: s.id, order: orderOf(s.clusterKey), identified: true, streaming: s.streaming })),
    // Only its node knows whether an SFU stopped streaming: `stopped` comes from the nodes' views.
    ...remote.map((r) => ({ id: r.name, order: orderOf(r.key), identified: true, streaming: !stopped.has(r.name) })),
  ].sort((a, b) => a.order - b.order);
  const unidentified = local.filter((s) => !s.identified).map((s) => ({ id: s.id, identified: false, streaming: s.streaming }));
  return [...identified, ...unidentified];
}

/** `clusterOrder` as a player sees it: only those streaming and granted (SFUs see all). */
export function clusterList(player: PsPlayer, local: readonly PsStreamer[], remote: readonly StreamerRecord[], stopped: ReadonlySet<string>): string[] {
  const entries = clusterOrder(local, remote, stopped);
  if (player.type === 'SFU') {
    return entries.map((e) => e.id);
  }
  return entries.filter((e) => e.identified && e.streaming && mayJoin(player, e.id)).map((e) => e.id);
}
