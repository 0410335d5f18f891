import Type from 'typebox';
import { Compile } from 'typebox/compile';
import type { NodeId } from '../cluster/bus.js';
import type { ClusterNode } from '../cluster/cluster-node.js';
import { AppError } from '../shared/app-error.js';
import type { Logger } from '../shared/logger.js';
import { decodeCursor, encodeCursor, mergePages, type NodeDeadLetter, type NodePage } from './dead-letter-pages.js';
import { DEAD_LETTER_FIELDS } from './dead-letter-schema.js';
import type { Webhooks } from './webhooks.js';

/** The module of the node-to-node requests (`ClusterNode.handleModule`). */
const MODULE = 'webhooks.dead-letters';

const EventId = Type.String({ minLength: 1, maxLength: 64 });
const NodeRequest = Type.Union([
  Type.Object({ op: Type.Literal('list'), limit: Type.Integer({ minimum: 1, maximum: 100 }), after: Type.Integer({ minimum: 0 }) }),
  Type.Object({ op: Type.Union([Type.Literal('redeliver'), Type.Literal('discard')]), id: EventId }),
]);
const checkRequest = Compile(NodeRequest);
const checkPage = Compile(Type.Object({ items: Type.Array(Type.Object({ ...DEAD_LETTER_FIELDS, position: Type.Integer() })), more: Type.Boolean() }));
const checkDone = Compile(Type.Object({ done: Type.Boolean() }));

export type DeadLetterAction = 'redeliver' | 'discard';

/** One page of the cluster's dead letters, and the nodes whose dead letters it lacks. */
export interface DeadLetterList {
  deadLetters: NodeDeadLetter[];
  nextCursor?: string;
  /** Nodes that did not answer in time (or left the cluster since the cursor was made). */
  unreachable: string[];
}

export interface ClusterDeadLettersOptions {
  /** This node's id (in a cluster, the cluster's id of it). */
  nodeId: string;
  webhooks: Webhooks | undefined;
  cluster: ClusterNode | undefined;
  /** How long a node may take to answer before the list goes on without it. */
  timeoutMs: number;
  logger: Logger;
}

/**
 * The webhook dead letters of every node. Each node keeps its own outbox (SQLite): listing asks
 * every live node for a page and merges them; redeliver and discard reach the node that holds
 * the dead letter (the one named, or whichever of them has it). On one node, just its own.
 */
export class ClusterDeadLetters {
  readonly #opts: ClusterDeadLettersOptions;

  constructor(options: ClusterDeadLettersOptions) {
    this.#opts = options;
    options.cluster?.handleModule(MODULE, (body) => this.#answer(body));
  }

  get nodeId(): string {
    return this.#opts.nodeId;
  }

  /** A page of at most `limit`, oldest first, after `cursor` (the previous page's `nextCursor`). */
  async list(limit: number, cursor?: string): Promise<DeadLetterList> {
    const after = decodeCursor(cursor);
    const live = this.#liveNodes();
    const unreachable = [...after.keys()].filter((node) => !live.includes(node));
    const pages = await Promise.all(
      live.map(async (node): Promise<NodePage | undefined> => {
        const position = after.get(node) ?? 0;
        if (node === this.#opts.nodeId) {
          return { node, ...this.#localPage(limit, position) };
        }
        const reply = await this.#request(node, { op: 'list', limit, after: position }).catch(() => undefined);
        if (checkPage.Check(reply)) {
          return { node, ...reply };
        }
        unreachable.push(node);
        return undefined;
      }),
    );
    const answered = pages.filter((page): page is NodePage => page !== undefined);
    const { items, next } = mergePages(answered, limit, after, unreachable);
    unreachable.sort();
    return next ? { deadLetters: items, nextCursor: encodeCursor(next), unreachable } : { deadLetters: items, unreachable };
  }

  /**
   * Redelivers or discards a dead letter on the node that holds it; returns that node. Without
   * `node`, every live node is asked (an event id is on one node only). NOT_FOUND when none has
   * it; UNAVAILABLE when a node that may have it did not answer.
   */
  async act(action: DeadLetterAction, id: string, node?: string): Promise<string> {
    const { nodeId, webhooks, cluster } = this.#opts;
    if (!webhooks && !cluster) {
      throw new AppError('NOT_FOUND', 'Webhooks are not configured (webhooks.url)');
    }
    if (node === undefined && this.#localAct(action, id)) {
      return nodeId;
    }
    const live = this.#liveNodes();
    if (node !== undefined && !live.includes(node)) {
      throw new AppError('UNAVAILABLE', `Node ${node} is not in the cluster now`);
    }
    const asked = node !== undefined ? [node] : live.filter((n) => n !== nodeId);
    const answers = await Promise.all(asked.map((n) => this.#actOn(n, action, id)));
    const holder = asked.find((_, i) => answers[i] === true);
    if (holder !== undefined) {
      return holder;
    }
    const silent = asked.filter((_, i) => answers[i] === undefined);
    if (silent.length > 0) {
      throw new AppError('UNAVAILABLE', `No answer from node ${silent.join(', ')}, which may hold dead letter "${id}"; try again`);
    }
    throw new AppError('NOT_FOUND', `No dead letter "${id}"`);
  }

  /** Whether node `node` did it; undefined when it did not answer (in time). */
  async #actOn(node: string, action: DeadLetterAction, id: string): Promise<boolean | undefined> {
    if (node === this.#opts.nodeId) {
      return this.#localAct(action, id);
    }
    const reply = await this.#request(node, { op: action, id }).catch(() => undefined);
    return checkDone.Check(reply) ? reply.done : undefined;
  }

  /** This node first, then the others alive by their heartbeats. */
  #liveNodes(): string[] {
    const { nodeId, cluster } = this.#opts;
    return [nodeId, ...(cluster?.bus.nodes().filter((id) => id !== nodeId) ?? [])];
  }

  async #request(node: NodeId, body: unknown): Promise<unknown> {
    const { cluster, timeoutMs, logger } = this.#opts;
    try {
      return await cluster?.requestModule(node, MODULE, body, timeoutMs);
    } catch (err) {
      // Debug only: the answer names the node, and a dashboard asks every 3 s.
      logger.debug({ err, node }, 'webhooks: a node did not answer about its dead letters');
      throw err;
    }
  }

  /** Another node's request: validated, answered from this node's outbox. */
  #answer(body: unknown): unknown {
    if (!checkRequest.Check(body)) {
      throw new AppError('BAD_REQUEST', 'Not a dead-letter request');
    }
    return body.op === 'list' ? this.#localPage(body.limit, body.after) : { done: this.#localAct(body.op, body.id) };
  }

  #localPage(limit: number, after: number): Omit<NodePage, 'node'> {
    const page = this.#opts.webhooks?.deadLetters(limit, after);
    return { items: page?.items ?? [], more: page?.nextCursor !== undefined };
  }

  #localAct(action: DeadLetterAction, id: string): boolean {
    const { webhooks } = this.#opts;
    return webhooks !== undefined && (action === 'redeliver' ? webhooks.redeliver(id) : webhooks.discard(id));
  }
}
