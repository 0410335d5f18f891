import Type, { type Static } from 'typebox';
import { Compile } from 'typebox/compile';
import type { ClusterNode } from '../cluster/cluster-node.js';
import type { Clock, TimerHandle } from '@heliograph/common';
import { NodeStats } from './node-stats.js';

/** How often a node samples its own figures, and how many samples it keeps (five minutes). */
export const HISTORY_INTERVAL_MS = 2000;
const HISTORY_SAMPLES = 150;
/** How long a node waits for another's history. */
const HISTORY_TIMEOUT_MS = 1500;

const checkSamples = Compile(Type.Array(NodeStats));

/** The last minutes of every node's figures, so that the dashboard's charts start full. */
export const History = Type.Object({ nodes: Type.Array(Type.Object({ node: Type.String(), samples: Type.Array(NodeStats) })) });
export type History = Static<typeof History>;

/**
 * This node's figures every two seconds for the last five minutes (purely local reads: the
 * figures' sources, no call to other nodes), and in a cluster every node's on request
 * (`console.history`).
 */
export class StatsHistory {
  readonly #samples: NodeStats[] = [];
  #timer: TimerHandle | undefined;

  constructor(private readonly deps: { nodeId: string; clock: Clock; cluster: ClusterNode | undefined; sample: () => Promise<NodeStats> }) {
    deps.cluster?.handle('console.history', () => this.#samples);
  }

  start(): void {
    this.#timer ??= this.deps.clock.setInterval(() => {
      this.deps.sample().then(
        (stats) => {
          this.#samples.push(stats);
          if (this.#samples.length > HISTORY_SAMPLES) {
            this.#samples.shift();
          }
        },
        () => undefined,
      );
    }, HISTORY_INTERVAL_MS);
  }

  /** Every live node's samples; a node that does not answer in time is left out. */
  async all(): Promise<History> {
    const { cluster, nodeId } = this.deps;
    const others = cluster ? cluster.bus.nodes().filter((id) => id !== nodeId) : [];
    const remote = await Promise.all(
      others.map(async (node) => {
        const reply = await cluster?.bus.request(node, { type: 'console.history' }, HISTORY_TIMEOUT_MS).catch(() => undefined);
        return checkSamples.Check(reply) ? [{ node, samples: reply }] : [];
      }),
    );
    return { nodes: [{ node: nodeId, samples: [...this.#samples] }, ...remote.flat()] };
  }

  close(): void {
    this.deps.clock.clearInterval(this.#timer);
    this.#timer = undefined;
  }
}
