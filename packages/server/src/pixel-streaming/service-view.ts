import Type, { type Static } from 'typebox';
import type { Clock } from '@heliograph/common';
import type { NodeId } from '../cluster/bus.js';
import type { ClusterNode } from '../cluster/cluster-node.js';
import type { Logger } from '../shared/logger.js';
import type { PsPlayer, PsStreamer } from './endpoints.js';
import { FreshGather } from './fresh-gather.js';
import type { PsDropCounters } from './ps-socket.js';
import type { PsSignalling } from './signalling.js';
import { orderOf } from './streamer-list.js';

/** Wilbur's `IPlayerInfo`. */
export const PsPlayerInfo = Type.Object({
  playerId: Type.String(),
  type: Type.Union([Type.Literal('Player'), Type.Literal('SFU')]),
  subscribedTo: Type.Optional(Type.String()),
  remoteAddress: Type.String(),
});
/** Wilbur's `IStreamerInfo`. */
export const PsStreamerInfo = Type.Object({
  streamerId: Type.String(),
  type: Type.Union([Type.Literal('Streamer'), Type.Literal('SFU')]),
  streaming: Type.Boolean(),
  remoteAddress: Type.String(),
  subscribers: Type.Array(PsPlayerInfo),
});

type PlayerInfo = Static<typeof PsPlayerInfo>;

/** Wilbur's `IStreamerInfo`, plus what matchmaking and the cluster's order need. */
export type StreamerView = Static<typeof PsStreamerInfo> & {
  identified: boolean;
  /** Where it stands in the cluster's order of first identification (null: unknown, last). */
  order: number | null;
};

/** One node's dialect, as that node sees it: its own streamers (with every subscriber, local or not) and players. */
export interface NodeView {
  streamers: StreamerView[];
  players: PlayerInfo[];
  drops: Record<string, number>;
}

/** The whole service: every node that answered, merged. */
export interface ServiceView extends NodeView {
  /** Nodes whose view is in it. */
  nodes: number;
}

/**
 * Where the REST view, matchmaking and `listStreamers` learn about the service. On one node it is
 * the node itself; in a cluster every live node is asked (`pixel-streaming.view`), so a streamer
 * or SFU that stops, leaves or whose node is lost drops out of every node's answer at once (a lost
 * node within the cluster's heartbeat bound).
 */
export interface ServiceViewSource {
  view(): Promise<ServiceView>;
  /** The views of the other nodes only (for `listStreamers`' streaming flags). */
  otherNodes(): Promise<NodeView[]>;
}

function playerInfo(p: PsPlayer): PlayerInfo {
  return { playerId: p.id, type: p.type, remoteAddress: p.socket.remoteAddress, ...(p.subscribedTo && { subscribedTo: p.subscribedTo.id }) };
}

function streamerView(s: PsStreamer): StreamerView {
  const order = orderOf(s.clusterKey);
  return {
    streamerId: s.id,
    type: s.type,
    streaming: s.streaming,
    remoteAddress: s.socket.remoteAddress,
    subscribers: [...s.subscribers.values()].map(playerInfo),
    identified: s.identified,
    order: Number.isFinite(order) ? order : null,
  };
}

/** This node's own view. */
export function nodeView(sig: PsSignalling, drops: PsDropCounters): NodeView {
  return {
    streamers: sig.streamers.list().map(streamerView),
    players: [...sig.players.values()].map(playerInfo),
    drops: { ...drops },
  };
}

/**
 * One node's streamers stay in registration order, as in Wilbur. Several nodes' are merged in
 * the cluster's order of first identification, then the unidentified ones.
 */
export function mergeViews(views: readonly NodeView[]): ServiceView {
  const streamers = views.flatMap((v) => v.streamers);
  if (views.length > 1) {
    const rank = (s: StreamerView) => (s.identified ? (s.order ?? Number.POSITIVE_INFINITY) : Number.POSITIVE_INFINITY);
    // A stable sort: one node's streamers keep their registration order among equals.
    streamers.sort((a, b) => Number(b.identified) - Number(a.identified) || rank(a) - rank(b));
  }
  const drops: Record<string, number> = {};
  for (const v of views) {
    for (const [k, n] of Object.entries(v.drops)) {
      drops[k] = (drops[k] ?? 0) + n;
    }
  }
  return { nodes: views.length, streamers, players: views.flatMap((v) => v.players), drops };
}

/** A node on its own. */
export function localViewSource(local: () => NodeView): ServiceViewSource {
  return {
    view: async () => mergeViews([local()]),
    otherNodes: async () => [],
  };
}

const MODULE = 'pixel-streaming.view';

export interface ClusterViewOptions {
  node: ClusterNode;
  local: () => NodeView;
  logger: Logger;
  /** How long a node may take to answer before the view goes on without it. */
  timeoutMs: number;
  clock: Clock;
}

/** Gathers start at most this often, however many callers there are (a REST flood costs the cluster little). */
const GATHER_SPACING_MS = 100;

/**
 * Every live node's view, asked in parallel. A node that does not answer in time is left out
 * (and logged): the view is then partial, which `nodes` in `/api/status` shows.
 */
export function clusterViewSource({ node, local, logger, timeoutMs, clock }: ClusterViewOptions): ServiceViewSource {
  node.handleModule(MODULE, () => local());
  const ask = async (nodeId: NodeId): Promise<NodeView | undefined> => {
    try {
      // Another node of this cluster (trusted as the bus is): its `nodeView()`, as JSON.
      return (await node.requestModule(nodeId, MODULE, {}, timeoutMs)) as NodeView;
    } catch (err) {
      logger.debug({ err, nodeId }, 'pixel streaming: a node did not answer for the service view');
      return undefined;
    }
  };
  const gate = new FreshGather(
    async () => {
      const answers = await Promise.all(
        node.bus
          .nodes()
          .filter((id) => id !== node.nodeId)
          .map(ask),
      );
      return answers.filter((v): v is NodeView => v !== undefined);
    },
    clock,
    GATHER_SPACING_MS,
  );
  return {
    async view() {
      const others = await gate.get();
      return mergeViews([local(), ...others]);
    },
    otherNodes: () => gate.get(),
  };
}
