import { Histogram, type Registry } from 'prom-client';
import Type from 'typebox';
import { Compile } from 'typebox/compile';
import type { Clock } from '@heliograph/common';
import { ackOf, type RelayAck, type RelayEvent, type RelayTarget, type RemoteSink } from '../rooms/peer-sink.js';
import type { Peer } from '../rooms/room.js';
import type { Rooms } from '../rooms/rooms.js';
import { AppError } from '../shared/app-error.js';
import type { NodeId } from './bus.js';
import type { ClusterNode } from './cluster-node.js';
import type { NodeRequest } from './messages.js';
import { homeNode } from './mirrors.js';

export interface RemotePeersOptions {
  node: ClusterNode;
  rooms: Rooms;
  clock: Clock;
  /** How long a relay to a peer on another node may take before the sender gets TIMEOUT. */
  requestTimeoutMs: number;
  /** Where `heliograph_cluster_relay_seconds` goes. */
  metrics?: Registry | undefined;
  /** Resolves once a peer arriving here by a session hand-over is in place (`session-handover.ts`). */
  arriving: (peerId: string) => Promise<void> | undefined;
}

/**
 * The members of other nodes as this node reaches them, and this node's peers as the others
 * reach them: one `RemoteSink` per node (relays become `peer.deliver` requests, acked once the
 * peer's connection has them), and the answers to `peer.deliver`, `peer.kick` and `peer.update`.
 */
export class RemotePeers {
  readonly #o: RemotePeersOptions;
  readonly #sinks = new Map<NodeId, RemoteSink>();
  readonly #relays: Histogram<'outcome'> | undefined;

  constructor(options: RemotePeersOptions) {
    this.#o = options;
    const { node, rooms, metrics } = options;
    this.#relays = metrics
      ? new Histogram({
          name: 'heliograph_cluster_relay_seconds',
          help: 'Relays to peers on other nodes, from the request to the other node until its answer, by outcome (ok or the error code)',
          labelNames: ['outcome'],
          buckets: [0.0005, 0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.5, 1, 5],
          registers: [metrics],
        })
      : undefined;
    node.handle('peer.deliver', (m) => this.#deliverHere(m));
    node.handle('peer.kick', (m) => {
      rooms.kick(localPeer(rooms, m.room, m.peerId), m.reason);
      return {};
    });
    node.handle('peer.update', (m) => {
      const peer = localPeer(rooms, m.room, m.peerId);
      rooms.updatePeer(peer, m.changes, true);
      return { permissions: peer.permissions };
    });
  }

  /** The sink of every member of node `nodeId`: one per node, shared by its mirrors. */
  sinkOf(nodeId: NodeId): RemoteSink {
    const sink: RemoteSink = this.#sinks.get(nodeId) ?? {
      node: nodeId,
      sendEvent: () => 'elsewhere',
      detached: () => undefined,
      relay: (peer, event, dataJson) => this.#relay(peer, nodeId, event, dataJson),
    };
    this.#sinks.set(nodeId, sink);
    return sink;
  }

  /** The node is gone: its sink goes too (its mirrors are detached by the caller). */
  forget(nodeId: NodeId): void {
    this.#sinks.delete(nodeId);
  }

  /** A relay to a member on node `node`: a `peer.deliver` request, answered once its connection has it. */
  async #relay(target: RelayTarget, node: NodeId, event: RelayEvent, dataJson: string): Promise<RelayAck> {
    const { clock } = this.#o;
    const started = clock.now();
    let outcome = 'ok';
    target.routeStarted();
    try {
      const message: NodeRequest = { type: 'peer.deliver', room: target.room.id, to: target.id, event, data: dataJson };
      return readRelayAck(await this.#o.node.bus.request(node, message, this.#o.requestTimeoutMs), node);
    } catch (err) {
      outcome = err instanceof AppError ? err.code : 'INTERNAL';
      throw err;
    } finally {
      target.routeSettled();
      this.#relays?.observe({ outcome }, (clock.now() - started) / 1000);
    }
  }

  /**
   * A relay from another node to a peer of this one. A peer arriving by a hand-over gets it once
   * it is in place; one that moved away is reached through its new node (once: a forwarded relay
   * is not forwarded again).
   */
  async #deliverHere(m: Extract<NodeRequest, { type: 'peer.deliver' }>): Promise<RelayAck> {
    const arriving = this.#o.arriving(m.to);
    if (arriving) {
      await arriving;
    }
    const { rooms } = this.#o;
    const peer = rooms.get(m.room)?.peers.get(m.to);
    const node = peer && homeNode(peer);
    if (node !== undefined && !m.forwarded) {
      return readRelayAck(await this.#o.node.bus.request(node, { ...m, forwarded: true }, this.#o.requestTimeoutMs), node);
    }
    return ackOf(localPeer(rooms, m.room, m.to).sink.sendEvent(m.event, m.data), m.to);
  }
}

/** A peer of this node in that room, or PEER_NOT_FOUND. */
function localPeer(rooms: Rooms, roomId: string, peerId: string): Peer {
  const peer = rooms.get(roomId)?.peers.get(peerId);
  if (!peer?.local) {
    throw new AppError('PEER_NOT_FOUND', `Peer "${peerId}" has gone`);
  }
  return peer;
}

const checkRelayAck = Compile(Type.Object({ queued: Type.Optional(Type.Literal(true)) }));

/** Another node's answer to `peer.deliver`, checked like any message between nodes. */
function readRelayAck(reply: unknown, node: NodeId): RelayAck {
  if (!checkRelayAck.Check(reply)) {
    throw new AppError('INTERNAL', `Node ${node} answered peer.deliver with something else`);
  }
  return reply.queued ? { queued: true } : {};
}
