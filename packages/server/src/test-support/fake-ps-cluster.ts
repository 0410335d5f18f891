import type { PsPlayer, PsStreamer } from '../pixel-streaming/endpoints.js';
import { RemoteStreamer } from '../pixel-streaming/endpoints.js';
import type { ClaimOutcome, PsCluster, PsClusterIds, StreamerRecord } from '../pixel-streaming/ps-cluster.js';
import { readRelayed } from '../pixel-streaming/node-messages.js';
import { PeerRoute } from '../pixel-streaming/peer-route.js';
import { PsNode, type PsNodeOptions } from './ps-node.js';

/** Lets every pending promise chain run (the gate, the flows): one turn of the event loop, no timer. */
export const settle = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

/** What `PsCluster.subscribe` answers: an upstream, a `subscribeFailed` message, or undefined (gone meanwhile). */
export type SubscribeOutcome = RemoteStreamer | string | undefined;

/**
 * A route to a peer of another node that relays nowhere: `message` gets each message it carries
 * (as JSON, in order), `closed` its close.
 */
export function recordingRoute(
  remoteAddress: string,
  message: (json: string) => void,
  closed: (code: number | undefined, reason: string | undefined) => void,
): PeerRoute {
  const route = new PeerRoute(
    { room: 'ps:remote', peer: 'remote-peer' },
    {
      remoteAddress,
      from: () => 'this-peer',
      lost: () => undefined,
      relay: (_to, dataJson) => {
        message(JSON.stringify(readRelayed(dataJson)?.payload));
        return Promise.resolve({});
      },
    },
  );
  route.onClose(closed);
  return route;
}

/**
 * The cluster's streamer ids in memory: every claim is answered by `answer` (by default granted as
 * asked), with a key from one sequence that `addRemote` shares, so local and remote streamers
 * interleave in claim order.
 */
export class FakePsClusterIds implements PsClusterIds {
  /** The other nodes' streamers as the directory lists them; undefined: the directory cannot be read. */
  remote: StreamerRecord[] | undefined = [];
  answer: (wanted: string) => ClaimOutcome | Promise<ClaimOutcome> = (wanted) => ({ id: wanted });
  #sequence = 1;

  constructor(private readonly calls: string[]) {}

  /** A streamer identified on another node, next in claim order. */
  addRemote(name: string, nodeId = 'B'): StreamerRecord {
    const record = { name, nodeId, key: String(this.#sequence++) };
    this.remote = [...(this.remote ?? []), record];
    return record;
  }

  claim(streamer: PsStreamer, wanted: string): Promise<ClaimOutcome> {
    streamer.clusterKey ??= String(this.#sequence++);
    this.calls.push(`claim ${wanted} ${streamer.clusterKey}`);
    return Promise.resolve(this.answer(wanted));
  }

  release(id: string, key: string): void {
    this.calls.push(`release ${id} ${key}`);
  }

  remoteStreamers(): Promise<StreamerRecord[] | undefined> {
    return Promise.resolve(this.remote && [...this.remote]);
  }
}

/**
 * A recording `PsCluster`: `calls` lists what signalling asked (`claim`, `release`, `subscribe`,
 * `unsubscribe`, as short lines); `subscribe` answers with `answer`, by default an upstream whose
 * link records in `forwarded` what the player's node sends the streamer's node.
 */
export class FakePsCluster implements PsCluster {
  readonly calls: string[] = [];
  readonly ids = new FakePsClusterIds(this.calls);
  /** Remote streamers that stopped streaming (`stoppedElsewhere`). */
  stopped = new Set<string>();
  /** `to playerId: message` for each message a remote upstream's link carried; `close playerId code` when closed. */
  readonly forwarded: string[] = [];
  answer: (player: PsPlayer, record: StreamerRecord) => SubscribeOutcome | Promise<SubscribeOutcome> = (player, record) => this.upstream(player, record);

  /** An upstream on the record's node for `player`, over a link that records what it carries. */
  upstream(player: PsPlayer, record: StreamerRecord): RemoteStreamer {
    const link = recordingRoute(
      '192.0.2.2',
      (json) => this.forwarded.push(`to ${record.name}: ${json}`),
      (code) => this.forwarded.push(`close ${player.id} ${String(code)}`),
    );
    return new RemoteStreamer(record.name, record.nodeId, link, player);
  }

  stoppedElsewhere(): Promise<Set<string>> {
    return Promise.resolve(new Set(this.stopped));
  }

  subscribe(player: PsPlayer, streamer: StreamerRecord): Promise<SubscribeOutcome> {
    this.calls.push(`subscribe ${player.id} ${streamer.name}@${streamer.nodeId}`);
    return Promise.resolve(this.answer(player, streamer));
  }

  unsubscribe(player: PsPlayer, upstream: RemoteStreamer): void {
    this.calls.push(`unsubscribe ${player.id} ${upstream.id}@${upstream.nodeId}`);
  }

  renamed(streamer: PsStreamer): void {
    this.calls.push(`renamed ${streamer.id}`);
  }
}

/** One node (`PsNode`) in cluster mode, with a recording `PsCluster`. */
export function clusterNode(options?: PsNodeOptions): { node: PsNode; cluster: FakePsCluster } {
  const node = new PsNode(options);
  const cluster = new FakePsCluster();
  node.sig.attachCluster(cluster);
  return { node, cluster };
}
