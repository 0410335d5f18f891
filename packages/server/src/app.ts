import { Registry } from 'prom-client';
import { systemClock, type Clock } from '@heliograph/common';
import { createAuth, createClusterNode, createPixelStreamingDialect, nodeLifecycle, routeUpgrades, type NodeStatus } from './app-wiring.js';
import { createGateway, registerRoutes } from './app-routes.js';
import type { AccountStore } from './auth/accounts.js';
import type { TokenSigner } from './auth/token-signer.js';
import type { Config } from './config/schema.js';
import type { ApiKeys } from './control-api/api-keys.js';
import { createHandlers } from './handlers/index.js';
import { clientAddressResolver } from './http/client-address.js';
import { buildHttpServer } from './http/http-server.js';
import { createBusinessIntegration, type BusinessIntegration } from './business-integration.js';
import type { TokenVerifier } from './auth/token-verifier.js';
import type { WsGateway } from './transport/ws-gateway.js';
import { OperatorConsole } from './admin/operator-console.js';
import type { Webhooks } from './webhooks/webhooks.js';
import { Rooms } from './rooms/rooms.js';
import { SessionRegistry } from './sessions/session-registry.js';
import type { ClusterNode } from './cluster/cluster-node.js';
import { ClusterRooms } from './cluster/cluster-rooms.js';
import { LocalMembership, type RoomMembership } from './rooms/room-membership.js';
import { SessionHandover } from './cluster/session-handover.js';
import { randomIds, type IdGenerator } from './shared/ids.js';
import { ErrorReporter } from './shared/error-reporter.js';
import { createLogger, type Logger } from './shared/logger.js';
import type { PsGateway } from './pixel-streaming/ps-gateway.js';
import type { SigningSecret } from './storage/secret.js';
import { Admission, type AdmissionOptions } from './transport/admission.js';
import { Dispatcher } from './transport/dispatcher.js';
import { readOpenFileLimit, socketCap } from './transport/open-file-limit.js';
import { publishStreamerEvents } from './webhooks/streamer-webhooks.js';

export interface HeliographOptions {
  clock?: Clock;
  ids?: IdGenerator;
  logger?: Logger;
}

/** A running Heliograph node. `close()` is idempotent and frees every port, timer and handle. */
export interface Heliograph {
  /** Starts listening; resolves with the base URL (`http://127.0.0.1:8080`). */
  listen(): Promise<string>;
  /**
   * Graceful shutdown: `/readyz` turns 503, new connections are refused, every client is told
   * `server.draining` and given until `config.drain.timeoutMs` to reconnect elsewhere; then
   * `close()`. Idempotent; `close()` during a drain cuts it short.
   */
  drain(reason?: string): Promise<void>;
  close(): Promise<void>;
  /** The base URL once listening. */
  readonly url: string;
  /** The signer of this node's HS256 tokens (for tests and the control API). */
  readonly signer: TokenSigner;
  readonly rooms: Rooms;
  /** This node's metrics (room service latency, webhook deliveries…). */
  readonly metrics: Registry;
  /** The webhooks, when configured: where other modules publish their events (`streamer.*`). */
  readonly webhooks: Webhooks | undefined;
  /** Epic's Pixel Streaming dialect, when `pixelStreaming.enabled`. */
  readonly pixelStreaming: PsGateway | undefined;
  /** This node's membership of a cluster, when `redis.url` is set. */
  readonly cluster: ClusterNode | undefined;
  /** Where unexpected errors are logged (rate-limited) and counted. */
  readonly errors: ErrorReporter;
  /** Where the HS256 signing secret came from: `auth.jwtSecret`, or dataDir (for the start-up summary). */
  readonly secretOrigin: 'configured' | SigningSecret['origin'];
  /** The built-in accounts in this node's database (used by login when `auth.accounts`). */
  readonly accounts: AccountStore;
  /** The control API's keys, configured and stored (for the start-up summary and dev mode). */
  readonly apiKeys: ApiKeys;
}

/**
 * The composition root: builds every component from the configuration and wires them.
 * It is longer than 80 lines on purpose: it is the one list of the node's parts, in build order,
 * each built by a function of its own; splitting it would scatter the order that close() reverses.
 */
// eslint-disable-next-line max-lines-per-function -- the one list of the node's parts, in build order (see above)
export async function createHeliograph(config: Config, options: HeliographOptions = {}): Promise<Heliograph> {
  const clock = options.clock ?? systemClock;
  const ids = options.ids ?? randomIds();
  const logger = options.logger ?? createLogger(config.log.level);

  const { db, accounts, signing, signer, verifier } = createAuth(config, clock, logger);
  const { secret } = signing;

  const rooms = new Rooms({ clock, ids, logger, defaults: config.rooms });
  const metrics = new Registry();
  const errors = new ErrorReporter({ logger, clock, metrics });
  const cluster = createClusterNode(config, { ids, clock, logger });
  const clusterRooms = cluster
    ? new ClusterRooms({ node: cluster, rooms, clock, logger, defaults: config.rooms, requestTimeoutMs: config.cluster.requestTimeoutMs, metrics })
    : undefined;
  cluster?.registerMetrics(metrics);
  const membership: RoomMembership = clusterRooms ?? new LocalMembership(rooms);
  const nodeId = cluster?.nodeId ?? ids('ND');
  const business = createBusinessIntegration({ config, db, rooms, catalog: membership.catalog, signer, clock, ids, logger, metrics, cluster, nodeId });
  const operator: OperatorConsole = new OperatorConsole({
    nodeId,
    clock,
    ids,
    logger,
    registry: metrics,
    rooms,
    cluster,
    sources: {
      state: () => status.state,
      connections: (): number => gateway.connectionCount,
      rooms: () => rooms.count,
      peers: () => rooms.list().reduce((n, room) => n + room.localSize, 0),
      webhooks: () => business.webhooks?.counts(),
      pixelStreaming: () => pixelStreaming && { streamers: pixelStreaming.signalling.streamers.list().length, players: pixelStreaming.signalling.players.size },
    },
  });
  const { sessions, gateway } = createNativeSignalling(config, {
    rooms,
    membership,
    clock,
    ids,
    logger,
    errors,
    metrics,
    business,
    operator,
    verifier,
    cluster,
    clusterRooms,
  });

  const clientAddress = clientAddressResolver(config.http.trustProxy);
  const admission = createAdmission(config, { clock, logger, clientAddress });
  admission.registerMetrics(metrics);
  const pixelStreaming = config.pixelStreaming.enabled
    ? createPixelStreamingDialect(config, {
        inspector: operator.inspector,
        rooms,
        verifier,
        clock,
        logger,
        errors,
        cluster,
        clusterRooms,
        membership,
        admission,
        clientAddress,
      })
    : undefined;

  if (pixelStreaming && business.webhooks) {
    publishStreamerEvents(pixelStreaming.events, business.webhooks);
  }

  const status: NodeStatus = { state: 'starting', url: '' };
  const http = buildHttpServer({ logger, errors, tls: config.tls, trustProxy: config.http.trustProxy, timeouts: config.http, admission });
  registerRoutes(http, {
    config,
    clock,
    status,
    db,
    accounts,
    signer,
    secret,
    verifier,
    membership,
    metrics,
    gateway,
    rooms,
    business,
    operator,
    pixelStreaming,
  });
  routeUpgrades(http, admission, gateway, pixelStreaming);
  const lifecycle = nodeLifecycle({
    config,
    clock,
    logger,
    status,
    cluster,
    clusterRooms,
    operator,
    http,
    pixelStreaming,
    gateway,
    sessions,
    rooms,
    business,
    db,
  });

  return {
    get url() {
      return status.url;
    },
    signer,
    rooms,
    metrics,
    webhooks: business.webhooks,
    pixelStreaming,
    cluster,
    errors,
    secretOrigin: signing.origin,
    accounts,
    apiKeys: business.apiKeys,
    ...lifecycle,
  };
}

interface NativeSignallingDeps {
  rooms: Rooms;
  membership: RoomMembership;
  clock: Clock;
  ids: IdGenerator;
  logger: Logger;
  errors: ErrorReporter;
  metrics: Registry;
  business: Pick<BusinessIntegration, 'iceServers' | 'roomService'>;
  operator: Pick<OperatorConsole, 'tap' | 'inspector'>;
  verifier: TokenVerifier;
  cluster: ClusterNode | undefined;
  clusterRooms: ClusterRooms | undefined;
}

/** The native protocol: handlers, the dispatcher, the sessions (handed over between nodes in a cluster) and the WebSocket gateway. */
function createNativeSignalling(config: Config, deps: NativeSignallingDeps): { sessions: SessionRegistry; gateway: WsGateway } {
  const { rooms, membership, clock, ids, logger, errors, metrics, business, operator, verifier, cluster, clusterRooms } = deps;
  const handlers = createHandlers({ rooms, membership, clock, iceServers: business.iceServers, roomService: business.roomService });
  const dispatcher = new Dispatcher({ handlers, clock, errors, requestTimeoutMs: config.limits.requestTimeoutMs, tap: operator.tap });
  const sessions = new SessionRegistry({ clock, ids, rooms, limits: config.resume, metrics, nodeId: cluster?.nodeId });
  const { inspector } = operator;
  sessions.eventTap = (session, type, dataJson) => {
    if (inspector.active) {
      inspector.observeEvent(session, type, dataJson);
    }
  };
  if (cluster && clusterRooms && config.resume.windowMs > 0) {
    new SessionHandover({ node: cluster, rooms, cluster: clusterRooms, sessions, clock, logger, requestTimeoutMs: config.cluster.requestTimeoutMs });
  }
  return { sessions, gateway: createGateway(config, { verifier, dispatcher, sessions, clock, logger, errors }) };
}

/**
 * The node's admission, with its socket cap from `limits.maxSockets` or the open-file limit; warns
 * once at start when that limit is too low for the settings.
 */
function createAdmission(config: Config, deps: Pick<AdmissionOptions, 'clock' | 'logger' | 'clientAddress'>): Admission {
  const { limits, pixelStreaming } = config;
  const connections = [{ setting: 'limits.maxConnections', value: limits.maxConnections }];
  if (pixelStreaming.enabled) {
    connections.push({ setting: 'pixelStreaming.maxConnections', value: pixelStreaming.maxConnections });
  }
  const openFiles = readOpenFileLimit();
  const { cap, warning } = socketCap({ maxSockets: limits.maxSockets, openFiles, connections });
  if (warning) {
    deps.logger.warn({ openFiles, maxSockets: cap }, warning);
  }
  deps.logger.info({ maxSockets: cap, openFiles: openFiles ?? 'unknown' }, 'socket cap');
  return new Admission({
    ...deps,
    maxSockets: cap,
    maxPendingUpgrades: limits.maxPendingUpgrades,
    maxPendingUpgradesPerAddress: limits.maxPendingUpgradesPerAddress,
    upgradesPerAddress: { perSecond: limits.upgradesPerSecondPerAddress, burst: limits.upgradeBurstPerAddress },
    connectionsPerUser: { perSecond: limits.connectionsPerSecondPerUser, burst: limits.connectionBurstPerUser },
  });
}
