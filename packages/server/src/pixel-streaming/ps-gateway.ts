import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import type { IceServer, PsInbound, PsRole } from '@heliograph/protocol';
import type { FastifyInstance } from 'fastify';
import { WebSocketServer, type WebSocket } from 'ws';
import type { Clock } from '@heliograph/common';
import type { Identity } from '../auth/identity.js';
import type { TokenVerifier } from '../auth/token-verifier.js';
import type { RoomMembership } from '../rooms/room-membership.js';
import type { Rooms } from '../rooms/rooms.js';
import { AppError } from '../shared/app-error.js';
import type { ErrorReporter } from '../shared/error-reporter.js';
import type { Logger } from '../shared/logger.js';
import type { HttpTimeouts } from '../http/node-server.js';
import { seconds, type Admission, type UpgradeTicket } from '../transport/admission.js';
import type { PsRequestLimits } from '../transport/request-limits.js';
import { rejectUpgrade, requestUrl } from '../transport/upgrade.js';
import { PsClusterLink, type PsClusterLinkOptions } from './cluster-link.js';
import type { PixelStreamingConfig } from './config.js';
import type { StreamerCredential } from './endpoints.js';
import { PixelStreamingEvents } from './events.js';
import { PsKeepalive } from './keepalive.js';
import { MessageGate } from './message-gate.js';
import { handlePlayerMessage, handleSfuMessage, handleStreamerMessage } from './message-handlers.js';
import { matchesAny } from './patterns.js';
import { peerOptionsProvider } from './peer-options.js';
import { registerPlayerPage } from './player-page.js';
import { PortListener } from './port-listener.js';
import { Presence } from './presence.js';
import { newDropCounters, PsSocket, type PsDropCounters } from './ps-socket.js';
import { registerPixelStreamingRoutes } from './rest-routes.js';
import { clusterViewSource, localViewSource, nodeView, type ServiceViewSource } from './service-view.js';
import { PsSignalling, type PsInspect } from './signalling.js';
import type { StreamerIdAuthorizer } from './streamer-ids.js';
import { authenticatePlayer, authenticateStreamer } from './upgrade-auth.js';

export interface PsGatewayOptions {
  /** The signalling inspector (the operator console). */
  inspect?: PsInspect | undefined;
  config: PixelStreamingConfig;
  /** Where the streamer and SFU ports listen (the node's `host`). */
  host: string;
  tls: { cert?: string | undefined; key?: string | undefined };
  iceServers: readonly IceServer[];
  turn: { urls: readonly string[]; secret?: string | undefined; ttlSeconds: number };
  rooms: Rooms;
  verifier: TokenVerifier;
  clock: Clock;
  logger: Logger;
  /** The native endpoint's path on the main port, which players never get. */
  nativePath: string;
  /** Frames buffered for a slow peer before it is dropped. */
  maxBufferedBytes: number;
  /** Deepest nesting a message may have (`limits.maxDepth`). */
  maxDepth: number;
  errors: ErrorReporter;
  authorizeStreamerId?: StreamerIdAuthorizer;
  /**
   * This node's cluster (`redis.url`): streamer ids and player ids are then unique across the
   * nodes, players subscribe to streamers of any node, and the REST view and matchmaking cover
   * every node. A player of one node joins the presence room of a streamer of another from its
   * own node, and the dialect travels between the two over the cluster's peer-delivery path.
   */
  cluster?: Pick<PsClusterLinkOptions, 'node' | 'sinkOf'> | undefined;
  /**
   * Who decides presence joins: this node, or in a cluster the directory, so that every node's
   * control API and lobby see the presence rooms.
   */
  membership: RoomMembership;
  /** The node's admission (socket cap, pending upgrades, upgrade and connection rates), shared with the main port. */
  admission: Admission;
  /** `http.*`, applied to the streamer and SFU ports as to the main port. */
  httpTimeouts: HttpTimeouts;
  /** The node's message rates per player identity and per address, shared by their sockets. */
  requestLimits?: PsRequestLimits | undefined;
  /** Serve the player page at `/` too (Wilbur's homepage): true when nothing else has `/`. */
  playerPageAtRoot?: boolean;
}

/** How long the REST view waits for another node's part before it answers without it. */
const VIEW_TIMEOUT_MS = 1_000;

/** Who a connection is: a streamer's (or SFU's) credential, or a player's identity. */
type Auth = StreamerCredential | { identity: Identity | undefined };

/**
 * Epic's Pixel Streaming signalling, served by Heliograph: players on the main port (beside the
 * native endpoint), streamers and SFUs on their own ports. Authenticates each upgrade before
 * anything else and enforces the dialect's connection cap; nothing listens until `listen()`.
 * `close()` is idempotent.
 */
export class PsGateway {
  /** `streamer.connected`, `streamer.disconnected`, `streamer.renamed`: for webhooks and business systems. */
  readonly events: PixelStreamingEvents;
  readonly signalling: PsSignalling;
  /** Frames that were dropped, by why. */
  readonly drops: PsDropCounters = newDropCounters();
  readonly #opts: PsGatewayOptions;
  readonly #log: Logger;
  readonly #sockets = new Set<PsSocket>();
  readonly #startedAt: number;
  readonly #view: ServiceViewSource;
  readonly #link: PsClusterLink | undefined;
  readonly #keepalive: PsKeepalive;
  readonly #wss: WebSocketServer;
  readonly #streamerPort: PortListener;
  readonly #sfuPort: PortListener | undefined;
  #pending = 0;
  #closing: Promise<void> | undefined;

  constructor(options: PsGatewayOptions) {
    const { config, clock } = options;
    this.#opts = options;
    this.#log = options.logger.child({ component: 'pixel-streaming' });
    this.#startedAt = clock.now();
    this.events = new PixelStreamingEvents(this.#log);
    this.signalling = this.#newSignalling();
    const local = () => nodeView(this.signalling, this.drops);
    const cluster = options.cluster;
    const view = cluster ? clusterViewSource({ node: cluster.node, local, logger: this.#log, timeoutMs: VIEW_TIMEOUT_MS, clock }) : localViewSource(local);
    this.#view = view;
    this.#link =
      cluster &&
      new PsClusterLink({
        ...cluster,
        sig: this.signalling,
        clock,
        logger: this.#log,
        policy: config.duplicateStreamerIds,
        otherNodes: () => view.otherNodes(),
      });
    this.#keepalive = new PsKeepalive(this.signalling, {
      clock,
      logger: this.#log,
      playerPingIntervalMs: config.playerPingIntervalMs,
      streamerPingIntervalMs: config.streamerPingIntervalMs,
    });
    this.#wss = new WebSocketServer({ noServer: true, maxPayload: config.maxMessageBytes, perMessageDeflate: false, clientTracking: false });
    const portOptions = { tls: options.tls, timeouts: options.httpTimeouts, admission: options.admission };
    this.#streamerPort = new PortListener(portOptions, this.#portHandler('streamer', config.streamerPaths));
    this.#sfuPort = config.sfuEnabled ? new PortListener(portOptions, this.#portHandler('sfu', config.sfuPaths)) : undefined;
  }

  /** Bound ports once listening (`sfu` undefined when the SFU port is off). */
  get ports(): { streamer: number; sfu: number | undefined } {
    return { streamer: this.#streamerPort.port, sfu: this.#sfuPort?.port };
  }

  /** Takes a player upgrade (admitted by the node's `Admission`) on the main port; false for paths that are not the dialect's. */
  handleUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer, ticket: UpgradeTicket): boolean {
    const { config, nativePath } = this.#opts;
    const path = requestUrl(req).pathname;
    if (path === nativePath || (config.playerPaths.length > 0 && !matchesAny(config.playerPaths, path))) {
      return false;
    }
    void this.#accept('player', req, socket, head, ticket);
    return true;
  }

  /** Wilbur's REST view and matchmaking, and Epic's player page, on the main HTTP server. */
  registerRoutes(app: FastifyInstance): void {
    const { config, clock, tls } = this.#opts;
    if (config.restApi) {
      registerPixelStreamingRoutes(app, { view: this.#view, clock, startedAt: this.#startedAt, config, secure: Boolean(tls.cert && tls.key) });
    }
    if (config.playerPage.enabled) {
      registerPlayerPage(app, { config: config.playerPage, homepage: this.#opts.playerPageAtRoot ?? false });
    }
  }

  /** Opens the streamer and SFU ports and starts the keepalives. */
  async listen(): Promise<void> {
    const { host, config } = this.#opts;
    await this.#streamerPort.listen(host, config.streamerPort);
    await this.#sfuPort?.listen(host, config.sfuPort);
    await this.#link?.ids.start();
    this.#keepalive.start();
    this.#log.info({ streamerPort: this.#streamerPort.port, sfuPort: this.#sfuPort?.port }, 'pixel streaming ports open');
  }

  /** Closes every connection with 1001 (streamers are `streamer.disconnected` with `shutdown`), then the ports. */
  close(): Promise<void> {
    this.#closing ??= (async () => {
      this.#keepalive.stop();
      for (const streamer of this.signalling.streamers.list()) {
        this.signalling.noteDisconnectReason(streamer, 'shutdown');
      }
      await Promise.all([...this.#sockets].map((s) => closeGently(s)));
      await this.#link?.close();
      this.#wss.close();
      await Promise.all([this.#streamerPort.close(), this.#sfuPort?.close()]);
    })();
    return this.#closing;
  }

  #newSignalling(): PsSignalling {
    const { config, clock, iceServers, turn } = this.#opts;
    const presence = new Presence({
      rooms: this.#opts.rooms,
      logger: this.#log,
      maxPlayersPerStreamer: config.maxPlayersPerStreamer,
      onDetached: (who) => who.socket.close(),
      membership: this.#opts.membership,
      received: (who, dataJson) => this.#link?.received(who, dataJson) ?? 'ok',
    });
    return new PsSignalling({
      config,
      clock,
      logger: this.#log,
      presence,
      events: this.events,
      drops: this.drops,
      peerOptions: peerOptionsProvider({ configured: config.peerConnectionOptions, iceServers, turn, clock }),
      authorizeStreamerId: this.#opts.authorizeStreamerId,
      inspect: this.#opts.inspect,
    });
  }

  #portHandler(role: 'streamer' | 'sfu', paths: readonly string[]) {
    return (req: IncomingMessage, socket: Duplex, head: Buffer, ticket: UpgradeTicket) => {
      if (paths.length > 0 && !matchesAny(paths, requestUrl(req).pathname)) {
        ticket.release();
        rejectUpgrade(socket, 404);
        return;
      }
      void this.#accept(role, req, socket, head, ticket);
    };
  }

  async #accept(role: PsRole, req: IncomingMessage, socket: Duplex, head: Buffer, ticket: UpgradeTicket): Promise<void> {
    const { config, verifier } = this.#opts;
    if (this.#closing || this.#sockets.size + this.#pending >= config.maxConnections) {
      ticket.release();
      rejectUpgrade(socket, 503);
      return;
    }
    const onError = (err: Error) => this.#log.debug({ err }, 'socket error during handshake');
    socket.on('error', onError);
    this.#pending++;
    let auth: Auth;
    try {
      auth =
        role === 'player'
          ? { identity: await authenticatePlayer(req, verifier, config.auth.players) }
          : await authenticateStreamer(req, { verifier, required: config.auth.streamers, streamerToken: config.auth.streamerToken });
    } catch (err) {
      const reason = err instanceof AppError ? err.message : 'token rejected';
      this.#log.info({ role, reason, address: req.socket.remoteAddress }, 'pixel streaming connection refused');
      rejectUpgrade(socket, 401);
      return;
    } finally {
      this.#pending--;
      ticket.release();
      socket.off('error', onError);
    }
    // eslint-disable-next-line @typescript-eslint/no-unnecessary-condition -- close() may have run while the token was checked
    if (this.#closing || socket.destroyed) {
      socket.destroy();
      return;
    }
    // The user a connection's token names, for the per-user connection rate (none without a JWT).
    const user = 'identity' in auth ? auth.identity?.userId : undefined;
    const waitMs = user === undefined ? 0 : ticket.admitUser(user);
    if (waitMs > 0) {
      rejectUpgrade(socket, 429, { 'retry-after': String(seconds(waitMs)) });
      return;
    }
    this.#wss.handleUpgrade(req, socket, head, (ws) => this.#open(role, ws, req, auth));
  }

  #open(role: PsRole, ws: WebSocket, req: IncomingMessage, auth: Auth): void {
    const { config, errors } = this.#opts;
    const identity = 'identity' in auth ? auth.identity : undefined;
    const socket = new PsSocket(ws, req.socket.remoteAddress ?? '', {
      role,
      clock: this.#opts.clock,
      logger: this.#log,
      drops: this.drops,
      badMessages: config.badMessages,
      maxBufferedBytes: this.#opts.maxBufferedBytes,
      maxDepth: this.#opts.maxDepth,
      errors,
      messagesPerSecond: config.messagesPerSecond,
      messageBurst: config.messageBurst,
      quota: this.#opts.requestLimits?.forSocket(role === 'player', req, role === 'player' ? identity?.userId : undefined),
    });
    this.#sockets.add(socket);
    socket.onClose(() => this.#sockets.delete(socket));
    const gate = new MessageGate<PsInbound>({
      onDrop: () => this.drops.rate_limited++,
      onError: (err) => errors.report('pixel-streaming', err, { role }),
    });
    socket.onMessage((msg) => gate.push(msg));
    const sig = this.signalling;
    const start = (playerId?: string) => {
      if (socket.closed) {
        return; // It left while its cluster-wide id was on its way.
      }
      if (role === 'player') {
        const player = sig.addPlayer(socket, identity, playerId);
        gate.open((msg) => handlePlayerMessage(sig, player, msg));
      } else {
        const streamer = sig.addStreamer(socket, role === 'sfu' ? 'SFU' : 'Streamer', auth as StreamerCredential, playerId);
        gate.open((msg) => (role === 'sfu' ? handleSfuMessage : handleStreamerMessage)(sig, streamer, msg));
      }
      this.#log.debug({ role, address: socket.remoteAddress }, 'pixel streaming connection open');
    };
    if (this.#link && role !== 'streamer') {
      // Players and SFUs wait for a cluster-wide player id before `config`; what they send meanwhile is held.
      void this.#link.ids.playerId().then(start);
    } else {
      start();
    }
  }
}

/** Closes with 1001 and waits for the peer, but never more than a second. */
function closeGently(socket: PsSocket): Promise<void> {
  return new Promise((resolve) => {
    if (socket.ws.readyState === socket.ws.CLOSED) {
      resolve();
      return;
    }
    socket.ws.once('close', () => resolve());
    socket.close(1001, 'server shutting down');
    // Real time on purpose: the node's clock may be a fake one in tests.
    setTimeout(() => {
      socket.terminate();
      resolve();
    }, 1000).unref();
  });
}
