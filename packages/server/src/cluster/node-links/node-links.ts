import { connect, createServer, type Server, type Socket } from 'node:net';
import { networkInterfaces } from 'node:os';
import type { Clock, TimerHandle } from '@heliograph/common';
import type { Logger } from '../../shared/logger.js';
import { StartupError } from '../../shared/startup-error.js';
import type { NodeId } from '../bus.js';
import { decodeReply, decodeRequest, Kind, type RawFrame, type RequestFrame } from './link-frames.js';
import { acceptHandshake, dialHandshake, type Authenticated } from './link-handshake.js';
import { LinkSocket, type LinkLiveness, type LinkSocketOptions } from './link-socket.js';

export interface NodeLinksOptions {
  nodeId: NodeId;
  /** The cluster's shared link secret (`cluster.linkSecret`). */
  secret: string;
  /** Where to listen (`cluster.linkHost`, `cluster.linkPort`; port 0: any free one). */
  host: string;
  port: number;
  /** The host the other nodes dial (`cluster.linkAdvertiseHost`); by default the listening one, or this machine's first external IPv4. */
  advertiseHost?: string | undefined;
  /** The port the other nodes dial, when not the listening one (a proxy or NAT in between; tests). */
  advertisePort?: number | undefined;
  clock: Clock;
  logger: Logger;
  liveness: LinkLiveness;
  handshakeTimeoutMs: number;
}

/** What the bus does with the links' traffic. */
export interface LinkHandlers {
  /** A request from `from`, on a link it dialed; `reply` writes the answer on that same link. */
  onRequest(from: NodeId, request: RequestFrame, reply: (frame: Buffer) => void): void;
  /** An answer from `from` on a link this node dialed. */
  onReply(from: NodeId, kind: number, id: number, text: string): void;
  /** A link to `to` was authenticated: requests may use it. */
  onUp(to: NodeId): void;
  /** The link to `to` ended: its requests in flight will get no answer on it. */
  onDown(to: NodeId, why: string): void;
}

/** A link this node dials (one per other node): its address, its socket once up, its retry. */
interface Outbound {
  address: string;
  link: LinkSocket | undefined;
  socket: Socket | undefined;
  retry: TimerHandle | undefined;
  backoffMs: number;
}

const MIN_BACKOFF_MS = 100;
const MAX_BACKOFF_MS = 2_000;

/**
 * Direct links between the nodes of a cluster: every node listens, and dials each other node it
 * learns of (addresses travel with the heartbeats), so each ordered pair A → B has one TCP
 * connection that A dialed: A's requests to B go out on it in order, and B's answers come back
 * on it. A link that cannot be made or is lost is dialed again with backoff; meanwhile the bus
 * sends through Redis. Only authenticated links carry anything (`link-handshake.ts`).
 */
export class NodeLinks {
  readonly #o: NodeLinksOptions;
  readonly #log: Logger;
  readonly #server: Server;
  readonly #accepted = new Set<LinkSocket>();
  readonly #pendingSockets = new Set<Socket>();
  readonly #out = new Map<NodeId, Outbound>();
  #h: LinkHandlers | undefined;
  #address: string | undefined;
  #closed = false;

  constructor(options: NodeLinksOptions) {
    this.#o = options;
    this.#log = options.logger;
    this.#server = createServer((socket) => this.#accept(socket));
    this.#server.on('error', (err) => this.#log.warn({ err }, 'cluster links: server error'));
  }

  /** Where the other nodes dial this one (`host:port`), once listening. */
  get address(): string | undefined {
    return this.#address;
  }

  setHandlers(handlers: LinkHandlers): void {
    this.#h = handlers;
  }

  /** Starts listening (then `address` is set). A port that cannot be had is a StartupError. */
  async listen(): Promise<void> {
    await new Promise<void>((resolve, reject) => {
      const failed = (err: Error) =>
        reject(
          new StartupError(
            'cluster.linkPort',
            `cannot listen for direct links between nodes on ${this.#o.host}:${this.#o.port} (${err.message})`,
            'free that port, choose another --cluster.link-port (0: any free one) or --cluster.link-host',
            { cause: err },
          ),
        );
      this.#server.once('error', failed);
      this.#server.listen(this.#o.port, this.#o.host, () => {
        this.#server.off('error', failed);
        resolve();
      });
    });
    const bound = this.#server.address();
    const port = typeof bound === 'object' && bound ? bound.port : this.#o.port;
    this.#address = `${formatHost(this.#o.advertiseHost ?? defaultAdvertiseHost(this.#o.host))}:${this.#o.advertisePort ?? port}`;
  }

  /** The other live nodes and their addresses (from a heartbeat): dial new ones, drop gone ones. */
  update(addresses: ReadonlyMap<NodeId, string>): void {
    if (this.#closed) {
      return;
    }
    for (const [node, address] of addresses) {
      const known = this.#out.get(node);
      if (node === this.#o.nodeId || known?.address === address) {
        continue;
      }
      if (known) {
        this.forget(node);
      }
      this.#out.set(node, { address, link: undefined, socket: undefined, retry: undefined, backoffMs: MIN_BACKOFF_MS });
      this.#dial(node);
    }
    for (const node of [...this.#out.keys()]) {
      if (!addresses.has(node)) {
        this.forget(node);
      }
    }
  }

  upCount(): number {
    return [...this.#out.keys()].filter((node) => this.isUp(node)).length;
  }

  isUp(to: NodeId): boolean {
    return this.#out.get(to)?.link?.open === true;
  }

  /** Writes a frame on the link to `to`; false when there is no open link. */
  send(to: NodeId, frame: Buffer): boolean {
    return this.#out.get(to)?.link?.write(frame) === true;
  }

  /** Drops the link to a node that is gone (lost, left, or moved to another address). */
  forget(node: NodeId): void {
    const out = this.#out.get(node);
    if (!out) {
      return;
    }
    this.#out.delete(node);
    this.#end(out, 'node gone');
  }

  /** Stops listening and ends every link. Idempotent. */
  async close(): Promise<void> {
    this.#stop(false);
    await new Promise<void>((resolve) => this.#server.close(() => resolve()));
  }

  /** Ends everything with resets and no goodbye, like a killed process (for fault tests). */
  crash(): void {
    this.#stop(true);
    this.#server.close();
  }

  #stop(abort: boolean): void {
    if (this.#closed) {
      return;
    }
    this.#closed = true;
    for (const out of this.#out.values()) {
      this.#end(out, 'closing', abort);
    }
    this.#out.clear();
    for (const link of [...this.#accepted]) {
      link.close('closing', abort);
    }
    for (const socket of this.#pendingSockets) {
      socket.destroy();
    }
  }

  /** Ends a dialed link, its dial in progress or its retry. */
  #end(out: Outbound, why: string, abort = false): void {
    this.#o.clock.clearTimeout(out.retry);
    out.socket?.destroy();
    out.link?.close(why, abort);
  }

  #handshake() {
    return { secret: this.#o.secret, self: this.#o.nodeId, clock: this.#o.clock, timeoutMs: this.#o.handshakeTimeoutMs };
  }

  #accept(socket: Socket): void {
    if (this.#closed) {
      socket.destroy();
      return;
    }
    this.#pendingSockets.add(socket);
    socket.on('error', () => socket.destroy());
    acceptHandshake(socket, this.#handshake()).then(
      (auth) => {
        this.#pendingSockets.delete(socket);
        if (this.#closed) {
          socket.destroy();
          return;
        }
        const link: LinkSocket = this.#link(socket, auth, {
          onFrame: (frame) => this.#onRequestFrame(link, frame),
          onClose: () => this.#accepted.delete(link),
        });
        this.#accepted.add(link);
      },
      (err: unknown) => {
        this.#pendingSockets.delete(socket);
        this.#log.warn({ err: err instanceof Error ? err.message : String(err), remote: socket.remoteAddress }, 'cluster links: refused a connection');
        socket.destroy();
      },
    );
  }

  #link(socket: Socket, auth: Authenticated, on: Pick<LinkSocketOptions, 'onFrame' | 'onClose'>): LinkSocket {
    return new LinkSocket(socket, { peer: auth.peer, reader: auth.reader, clock: this.#o.clock, liveness: this.#o.liveness, ...on }, auth.early);
  }

  #onRequestFrame(link: LinkSocket, frame: RawFrame): void {
    const request = frame.kind === Kind.REQ ? decodeRequest(frame.body) : undefined;
    if (!request) {
      this.#log.warn({ from: link.peer, kind: frame.kind }, 'cluster links: malformed frame; ending the link');
      link.close('malformed frame', true);
      return;
    }
    this.#h?.onRequest(link.peer, request, (reply) => link.write(reply));
  }

  #dial(node: NodeId): void {
    const out = this.#out.get(node);
    if (!out || this.#closed) {
      return;
    }
    out.retry = undefined;
    const [host, port] = parseAddress(out.address);
    const socket = connect({ host, port });
    out.socket = socket;
    let socketError: Error | undefined;
    socket.on('error', (err) => {
      socketError = err;
      socket.destroy();
    });
    dialHandshake(socket, this.#handshake(), node).then(
      (auth) => {
        if (this.#out.get(node) !== out || this.#closed) {
          socket.destroy();
          return;
        }
        out.socket = undefined;
        out.backoffMs = MIN_BACKOFF_MS;
        out.link = this.#link(socket, auth, {
          onFrame: (frame) => this.#onReplyFrame(node, out, frame),
          onClose: (why) => this.#lost(node, out, why),
        });
        this.#log.info({ to: node, address: out.address }, 'cluster links: link up');
        this.#h?.onUp(node);
      },
      (err: unknown) => {
        socket.destroy();
        // Once per run of failures at warn (an operator should see a link that cannot be made); retries at debug.
        const level = out.backoffMs === MIN_BACKOFF_MS ? 'warn' : 'debug';
        const why = socketError?.message ?? (err instanceof Error ? err.message : String(err));
        this.#log[level]({ to: node, address: out.address, err: why }, 'cluster links: could not link; requests go through Redis meanwhile');
        this.#retry(node, out);
      },
    );
  }

  #onReplyFrame(node: NodeId, out: Outbound, frame: RawFrame): void {
    const reply = frame.kind === Kind.OK || frame.kind === Kind.OK_EMPTY || frame.kind === Kind.ERR ? decodeReply(frame.body) : undefined;
    if (!reply) {
      this.#log.warn({ from: node, kind: frame.kind }, 'cluster links: malformed frame; ending the link');
      out.link?.close('malformed frame', true);
      return;
    }
    this.#h?.onReply(node, frame.kind, reply.id, reply.text);
  }

  #lost(node: NodeId, out: Outbound, why: string): void {
    if (out.link) {
      out.link = undefined;
      this.#log.info({ to: node, why }, 'cluster links: link down');
      this.#h?.onDown(node, why);
    }
    this.#retry(node, out);
  }

  #retry(node: NodeId, out: Outbound): void {
    if (this.#closed || this.#out.get(node) !== out || out.retry !== undefined) {
      return;
    }
    const delay = out.backoffMs;
    out.backoffMs = Math.min(out.backoffMs * 2, MAX_BACKOFF_MS);
    out.retry = this.#o.clock.setTimeout(() => this.#dial(node), delay);
  }
}

function parseAddress(address: string): [string, number] {
  const at = address.lastIndexOf(':');
  const host = address.slice(0, at).replace(/^\[(.*)\]$/, '$1');
  return [host, Number(address.slice(at + 1))];
}

const formatHost = (host: string): string => (host.includes(':') ? `[${host}]` : host);

/** A wildcard listener is dialed at this machine's first external IPv4 address (or loopback). */
function defaultAdvertiseHost(host: string): string {
  if (host !== '0.0.0.0' && host !== '::') {
    return host;
  }
  for (const list of Object.values(networkInterfaces())) {
    for (const a of list ?? []) {
      if (a.family === 'IPv4' && !a.internal) {
        return a.address;
      }
    }
  }
  return '127.0.0.1';
}
