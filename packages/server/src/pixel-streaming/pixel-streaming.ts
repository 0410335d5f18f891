import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import type { IceServer, PsInbound, PsRole } from '@heliograph/protocol';
import type { FastifyInstance } from 'fastify';
import { WebSocketServer, type WebSocket } from 'ws';
import type { Clock } from '@heliograph/common';
import type { Identity } from '../auth/identity.js';
import type { TokenVerifier } from '../auth/token-verifier.js';
import type { ClusterNode } from '../cluster/cluster-node.js';
import type { RoomMembership } from '../rooms/room-membership.js';
import type { Rooms } from '../rooms/rooms.js';
import { AppError } from '../shared/app-error.js';
import type { ErrorReporter } from '../shared/error-reporter.js';
import type { Logger } from '../shared/logger.js';
import type { HttpTimeouts } from '../http/node-server.js';
import { seconds, type Admission, type UpgradeTicket } from '../transport/admission.js';
import type { PsRequestLimits } from '../transport/request-limits.js';
import { rejectUpgrade, requestUrl } from '../transport/upgrade.js';
import { PsClusterLink } from './cluster-link.js';
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
import { clusterViewSource, localViewSource, nodeView } from './service-view.js';
import { PsSignalling, type PsInspect, type StreamerIdAuthorizer } from './signalling.js';
import { authenticatePlayer, authenticateStreamer } from './upgrade-auth.js';

export interface PixelStreamingDeps {
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
  /** Player id minting; per node by default (`Player0`…). A cluster mints them itself. */
  playerIds?: () => string;
  /**
   * This node's cluster (`redis.url`): streamer ids and player ids are then unique across the
   * nodes, players subscribe to streamers of any node, and the REST view and matchmaking cover
   * every node. Presence rooms live on the streamer's node.
   */
  cluster?: ClusterNode | undefined;
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

/** Messages one connection may send while a cluster step holds it (at most a burst's worth are kept). */
const MAX_HELD_MESSAGES = 1000;

/** Epic's Pixel Streaming signalling, served by Heliograph. `close()` is idempotent. */
export interface PixelStreaming {
  /** `streamer.connected`, `streamer.disconnected`, `streamer.renamed`: for webhooks and business systems. */
  readonly events: PixelStreamingEvents;
  readonly signalling: PsSignalling;
  /** Frames that were dropped, by why. */
  readonly drops: PsDropCounters;
  /** Bound ports once listening (`sfu` undefined when the SFU port is off). */
  readonly ports: { streamer: number; sfu: number | undefined };
  /** Takes a player upgrade (admitted by the node's `Admission`) on the main port; false for paths that are not the dialect's. */
  handleUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer, ticket: UpgradeTicket): boolean;
  /** Wilbur's REST view and matchmaking, and Epic's player page, on the main HTTP server. */
  registerRoutes(app: FastifyInstance): void;
  /** Opens the streamer and SFU ports and starts the keepalives. */
  listen(): Promise<void>;
  close(): Promise<void>;
}

function sequentialPlayerIds(): () => string {
  let next = 0;
  return () => `Player${next++}`;
}

/** Builds the dialect from narrow dependencies; nothing listens until `listen()`. */
export function createPixelStreaming(deps: PixelStreamingDeps): PixelStreaming {
  const { config, clock, logger } = deps;
  const log = logger.child({ component: 'pixel-streaming' });
  const events = new PixelStreamingEvents(log);
  const drops = newDropCounters();
  const sockets = new Set<PsSocket>();
  const startedAt = clock.now();
  let pending = 0;
  let closed = false;

  const presence = new Presence({
    rooms: deps.rooms,
    logger: log,
    maxPlayersPerStreamer: config.maxPlayersPerStreamer,
    onDetached: (who) => who.socket.close(),
    membership: deps.membership,
  });
  const sig = new PsSignalling({
    config,
    clock,
    logger: log,
    presence,
    events,
    drops,
    peerOptions: peerOptionsProvider({ configured: config.peerConnectionOptions, iceServers: deps.iceServers, turn: deps.turn, clock }),
    authorizeStreamerId: deps.authorizeStreamerId,
    playerIds: deps.playerIds ?? sequentialPlayerIds(),
    inspect: deps.inspect,
  });
  const local = () => nodeView(sig, drops);
  const view = deps.cluster ? clusterViewSource({ node: deps.cluster, local, logger: log, timeoutMs: VIEW_TIMEOUT_MS, clock }) : localViewSource(local);
  const link = deps.cluster
    ? new PsClusterLink({ node: deps.cluster, sig, clock, logger: log, policy: config.duplicateStreamerIds, otherNodes: () => view.otherNodes() })
    : undefined;
  const keepalive = new PsKeepalive(sig, {
    clock,
    logger: log,
    playerPingIntervalMs: config.playerPingIntervalMs,
    streamerPingIntervalMs: config.streamerPingIntervalMs,
  });
  const wss = new WebSocketServer({ noServer: true, maxPayload: config.maxMessageBytes, perMessageDeflate: false, clientTracking: false });

  function newSocket(ws: WebSocket, role: PsRole, req: IncomingMessage, userId: string | undefined): PsSocket {
    const socket = new PsSocket(ws, req.socket.remoteAddress ?? '', {
      role,
      clock,
      logger: log,
      drops,
      badMessages: config.badMessages,
      maxBufferedBytes: deps.maxBufferedBytes,
      maxDepth: deps.maxDepth,
      errors: deps.errors,
      messagesPerSecond: config.messagesPerSecond,
      messageBurst: config.messageBurst,
      quota: deps.requestLimits?.forSocket(role === 'player', req, userId),
    });
    sockets.add(socket);
    socket.onClose(() => sockets.delete(socket));
    return socket;
  }

  function open(role: PsRole, ws: WebSocket, req: IncomingMessage, auth: StreamerCredential | PlayerAuth): void {
    const socket = newSocket(ws, role, req, role === 'player' ? (auth as PlayerAuth).identity?.userId : undefined);
    const gate = new MessageGate<PsInbound>({
      maxQueued: MAX_HELD_MESSAGES,
      onDrop: () => drops.rate_limited++,
      onError: (err) => deps.errors.report('pixel-streaming', err, { role }),
    });
    socket.onMessage((msg) => gate.push(msg));
    const start = (playerId?: string) => {
      if (socket.closed) {
        return; // It left while its cluster-wide id was on its way.
      }
      if (role === 'player') {
        const player = sig.addPlayer(socket, (auth as PlayerAuth).identity, playerId);
        gate.open((msg) => handlePlayerMessage(sig, player, msg));
      } else {
        const streamer = sig.addStreamer(socket, role === 'sfu' ? 'SFU' : 'Streamer', auth as StreamerCredential, playerId);
        gate.open((msg) => (role === 'sfu' ? handleSfuMessage : handleStreamerMessage)(sig, streamer, msg));
      }
      log.debug({ role, address: socket.remoteAddress }, 'pixel streaming connection open');
    };
    if (link && role !== 'streamer') {
      // Players and SFUs wait for a cluster-wide player id before `config`; what they send meanwhile is held.
      void link.ids.playerId().then(start);
    } else {
      start();
    }
  }

  async function accept(role: PsRole, req: IncomingMessage, socket: Duplex, head: Buffer, ticket: UpgradeTicket): Promise<void> {
    if (closed || sockets.size + pending >= config.maxConnections) {
      ticket.release();
      rejectUpgrade(socket, 503);
      return;
    }
    const onError = (err: Error) => log.debug({ err }, 'socket error during handshake');
    socket.on('error', onError);
    pending++;
    let auth: StreamerCredential | PlayerAuth;
    try {
      auth =
        role === 'player'
          ? { identity: await authenticatePlayer(req, deps.verifier, config.auth.players) }
          : await authenticateStreamer(req, { verifier: deps.verifier, required: config.auth.streamers, streamerToken: config.auth.streamerToken });
    } catch (err) {
      const reason = err instanceof AppError ? err.message : 'token rejected';
      log.info({ role, reason, address: req.socket.remoteAddress }, 'pixel streaming connection refused');
      rejectUpgrade(socket, 401);
      return;
    } finally {
      pending--;
      ticket.release();
      socket.off('error', onError);
    }
    if (closed || socket.destroyed) {
      socket.destroy();
      return;
    }
    const user = userOf(auth);
    const waitMs = user === undefined ? 0 : ticket.admitUser(user);
    if (waitMs > 0) {
      rejectUpgrade(socket, 429, { 'retry-after': String(seconds(waitMs)) });
      return;
    }
    wss.handleUpgrade(req, socket, head, (ws) => open(role, ws, req, auth));
  }

  function portHandler(role: 'streamer' | 'sfu', paths: readonly string[]) {
    return (req: IncomingMessage, socket: Duplex, head: Buffer, ticket: UpgradeTicket) => {
      if (paths.length > 0 && !matchesAny(paths, requestUrl(req).pathname)) {
        ticket.release();
        rejectUpgrade(socket, 404);
        return;
      }
      void accept(role, req, socket, head, ticket);
    };
  }

  const portOptions = { tls: deps.tls, timeouts: deps.httpTimeouts, admission: deps.admission };
  const streamerPort = new PortListener(portOptions, portHandler('streamer', config.streamerPaths));
  const sfuPort = config.sfuEnabled ? new PortListener(portOptions, portHandler('sfu', config.sfuPaths)) : undefined;
  let closing: Promise<void> | undefined;

  return {
    events,
    signalling: sig,
    drops,
    get ports() {
      return { streamer: streamerPort.port, sfu: sfuPort?.port };
    },
    handleUpgrade(req, socket, head, ticket) {
      const path = requestUrl(req).pathname;
      if (path === deps.nativePath || (config.playerPaths.length > 0 && !matchesAny(config.playerPaths, path))) {
        return false;
      }
      void accept('player', req, socket, head, ticket);
      return true;
    },
    registerRoutes(app) {
      if (config.restApi) {
        registerPixelStreamingRoutes(app, { view, clock, startedAt, config, secure: Boolean(deps.tls.cert && deps.tls.key) });
      }
      if (config.playerPage.enabled) {
        registerPlayerPage(app, { config: config.playerPage, homepage: deps.playerPageAtRoot ?? false });
      }
    },
    async listen() {
      await streamerPort.listen(deps.host, config.streamerPort);
      await sfuPort?.listen(deps.host, config.sfuPort);
      await link?.ids.start();
      keepalive.start();
      log.info({ streamerPort: streamerPort.port, sfuPort: sfuPort?.port }, 'pixel streaming ports open');
    },
    close() {
      closing ??= (async () => {
        closed = true;
        keepalive.stop();
        for (const streamer of sig.streamers.list()) {
          sig.noteDisconnectReason(streamer, 'shutdown');
        }
        await Promise.all([...sockets].map((s) => closeGently(s)));
        await link?.close();
        wss.close();
        await Promise.all([streamerPort.close(), sfuPort?.close()]);
      })();
      return closing;
    },
  };
}

interface PlayerAuth {
  identity: Identity | undefined;
}

/** The user a connection's token names, for the per-user connection rate (none without a JWT). */
function userOf(auth: StreamerCredential | PlayerAuth): string | undefined {
  if ('identity' in auth) {
    return auth.identity?.userId;
  }
  return undefined;
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
