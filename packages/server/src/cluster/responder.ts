import { AppError } from '../shared/app-error.js';
import type { Logger } from '../shared/logger.js';
import type { ClusterMessage, NodeId, RequestHandler } from './bus.js';
import type { Reply } from './node-links/link-frames.js';

/**
 * Answers requests from other nodes, whichever path they came by (Redis inbox or direct link):
 * each is checked against the message schemas, then against the order of its sender's
 * requests, then handled; `reply` is called exactly once.
 */
export class Responder<M extends ClusterMessage> {
  handler: RequestHandler<M> | undefined;
  /** The sequence number of the last request taken from each node. */
  readonly #seqIn = new Map<NodeId, number>();

  constructor(
    private readonly nodeId: NodeId,
    private readonly isMessage: (value: unknown) => value is M,
    private readonly log: Logger,
  ) {}

  /** The node is gone: its numbering ends with it (a restarted node has a new id). */
  forget(node: NodeId): void {
    this.#seqIn.delete(node);
  }

  /**
   * `seq`: a request taken after a later one from the same sender would break per-pair order
   * (one that lingered on a dead link while later ones came through Redis), so it is refused;
   * its sender has already been told UNAVAILABLE when that link went down.
   */
  answer(from: NodeId, seq: number | undefined, message: unknown, reply: (r: Reply) => void): void {
    if (!this.isMessage(message)) {
      this.log.warn({ from }, 'cluster: refused a malformed request');
      reply({ ok: false, error: { code: 'BAD_REQUEST', message: 'Malformed request between nodes' } });
      return;
    }
    if (seq !== undefined) {
      if (seq <= (this.#seqIn.get(from) ?? 0)) {
        this.log.warn({ from, seq, type: message.type }, 'cluster: refused a request overtaken by a later one');
        reply({ ok: false, error: { code: 'UNAVAILABLE', message: 'The request was overtaken by a later one' } });
        return;
      }
      this.#seqIn.set(from, seq);
    }
    this.#handle(message, from, reply);
  }

  /** Runs the request handler; its result or error as a reply (a synchronous handler answers at once). */
  #handle(message: M, from: NodeId, reply: (r: Reply) => void): void {
    const fail = (err: unknown) => {
      const e = err instanceof AppError ? err : new AppError('INTERNAL');
      if (!(err instanceof AppError)) {
        this.log.error({ err, type: message.type }, 'cluster: a request handler threw');
      }
      reply({ ok: false, error: { code: e.code, message: e.message } });
    };
    try {
      if (!this.handler) {
        throw new AppError('UNAVAILABLE', `Node ${this.nodeId} takes no requests`);
      }
      const body: unknown = this.handler(message, from);
      if (body instanceof Promise) {
        body.then((b: unknown) => reply({ ok: true, body: b ?? null }), fail);
      } else {
        reply({ ok: true, body: body ?? null });
      }
    } catch (err) {
      fail(err);
    }
  }
}
