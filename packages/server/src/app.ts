import type { AddressInfo } from 'node:net';
import { Registry } from 'prom-client';
import { systemClock, type Clock } from '@heliograph/common';
import { AccountStore } from './auth/accounts.js';
import { LoginThrottle } from './auth/login-throttle.js';
import { TokenSigner } from './auth/token-signer.js';
import { createTokenVerifier } from './auth/token-verifier.js';
import type { Config } from './config/schema.js';
import type { ApiKeys } from './control-api/api-keys.js';
import { registerConsoleRoutes } from './admin/console-routes.js';
import { createHandlers } from './handlers/index.js';
import { registerAuthRoutes } from './http/auth-routes.js';
import { clientAddressResolver } from './http/client-address.js';
import { registerDemoRoutes } from './http/demo-routes.js';
import { installDepthGuard } from './http/depth-guard.js';
import { registerHealthRoutes } from './http/health-routes.js';
import { registerLobbyRoutes } from './http/lobby-routes.js';
import { registerMetricsRoutes } from './http/metrics-routes.js';
import { buildHttpServer } from './http/http-server.js';
import { createBusinessIntegration } from './business-integration.js';
import { OperatorConsole } from './admin/operator-console.js';
import { registerAdminPages } from './admin/admin-pages.js';
import { AdminRoles, ConsoleAdmins } from './admin/console-admins.js';
import type { Webhooks } from './webhooks/webhooks.js';
import { Rooms } from './rooms/rooms.js';
import { SessionRegistry } from './sessions/session-registry.js';
import { createRedisClusterNode, type ClusterNode } from './cluster/cluster-node.js';
import { ClusterRooms } from './cluster/cluster-rooms.js';
import { LocalMembership, type RoomMembership } from './rooms/room-membership.js';
import { SessionHandover } from './cluster/session-handover.js';
import { randomIds, type IdGenerator } from './shared/ids.js';
import { ErrorReporter } from './shared/error-reporter.js';
import { createLogger, redactUrlCredentials, type Logger } from './shared/logger.js';
import { StartupError } from './shared/startup-error.js';
import { PsGateway, type PixelStreaming } from './pixel-streaming/ps-gateway.js';
import { openDatabase } from './storage/database.js';
import { openSigningSecret, type SigningSecret } from './storage/secret.js';
import { Admission, type AdmissionOptions } from './transport/admission.js';
import { Dispatcher } from './transport/dispatcher.js';
import { readOpenFileLimit, socketCap } from './transport/open-file-limit.js';
import { PsRequestLimits, RequestLimits } from './transport/request-limits.js';
import { rejectUpgrade } from './transport/upgrade.js';
import { publishStreamerEvents } from './webhooks/streamer-webhooks.js';
import { WsGateway } from './transport/ws-gateway.js';

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
  readonly pixelStreaming: PixelStreaming | undefined;
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

/** The composition root: builds every component from the configuration and wires them. */
export async function createHeliograph(config: Config, options: HeliographOptions = {}): Promise<Heliograph> {
  const clock = options.clock ?? systemClock;
  const ids = options.ids ?? randomIds();
  const logger = options.logger ?? createLogger(config.log.level);

  const db = openDatabase(config.dataDir);
  const accounts = new AccountStore(db);
  const signing = config.auth.jwtSecret ? { secret: config.auth.jwtSecret, origin: 'configured' as const } : openSigningSecret(config.dataDir);
  const { secret } = signing;
  const { issuer, audience, clockToleranceSeconds, jwksUrl, maxTokenTtlSeconds } = config.auth;
  const maxTtlSeconds = maxTokenTtlSeconds;
  const signer = new TokenSigner({ secret, clock, maxTtlSeconds, ...(issuer ? { issuer } : {}), ...(audience ? { audience } : {}) });
  const verifier = createTokenVerifier({ secret, jwksUrl, issuer, audience, clockToleranceSeconds, maxTokenTtlSeconds, clock, logger });

  const rooms = new Rooms({ clock, ids, logger, defaults: config.rooms });
  const metrics = new Registry();
  const errors = new ErrorReporter({ logger, clock, metrics });
  const cluster = config.redis.url
    ? createRedisClusterNode({
        nodeId: ids('ND'),
        redis: { url: config.redis.url, prefix: config.redis.prefix, commandTimeoutMs: config.redis.commandTimeoutMs },
        timing: config.cluster,
        clock,
        logger,
        links: config.cluster.linkSecret
          ? { secret: config.cluster.linkSecret, host: config.cluster.linkHost, port: config.cluster.linkPort, advertiseHost: config.cluster.linkAdvertiseHost }
          : undefined,
      })
    : undefined;
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
      state: () => state,
      connections: (): number => gateway.connectionCount,
      rooms: () => rooms.count,
      peers: () => rooms.list().reduce((n, room) => n + room.localSize, 0),
      webhooks: () => business.webhooks?.counts(),
      pixelStreaming: () => pixelStreaming && { streamers: pixelStreaming.signalling.streamers.list().length, players: pixelStreaming.signalling.players.size },
    },
  });
  const handlers = createHandlers({
    rooms,
    membership,
    clock,
    iceServers: business.iceServers,
    roomService: business.roomService,
  });
  const clientAddress = clientAddressResolver(config.http.trustProxy);
  const admission = createAdmission(config, { clock, logger, clientAddress });
  admission.registerMetrics(metrics);
  // Request rates per user and per address: one set per node, so reconnecting refills nothing.
  const requests = new RequestLimits(config.limits, clock);
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
  const gateway = new WsGateway({
    path: '/ws',
    verifier,
    dispatcher,
    sessions,
    clock,
    logger,
    errors,
    limits: { ...config.limits, requests },
    ping: config.ping,
  });

  const pixelStreaming = config.pixelStreaming.enabled
    ? new PsGateway({
        inspect: (peer, direction, type, message, bytes) => {
          if (inspector.active) {
            inspector.observePs(peer, direction, type, message, bytes);
          }
        },
        config: config.pixelStreaming,
        host: config.host,
        tls: config.tls,
        iceServers: config.iceServers,
        turn: config.turn,
        rooms,
        verifier,
        clock,
        logger,
        nativePath: '/ws',
        maxBufferedBytes: config.limits.maxBufferedBytes,
        maxDepth: config.limits.maxDepth,
        errors,
        cluster,
        membership,
        admission,
        httpTimeouts: config.http,
        requestLimits: new PsRequestLimits(config.pixelStreaming, clock, clientAddress),
        playerPageAtRoot: !config.demo.enabled,
      })
    : undefined;

  if (pixelStreaming && business.webhooks) {
    publishStreamerEvents(pixelStreaming.events, business.webhooks);
  }

  let state: 'starting' | 'ready' | 'draining' | 'closing' = 'starting';
  const http = buildHttpServer({ logger, errors, tls: config.tls, trustProxy: config.http.trustProxy, timeouts: config.http, admission });
  installDepthGuard(http, config.limits.maxDepth);
  registerHealthRoutes(http, () => state === 'ready');
  let throttle: LoginThrottle | undefined;
  if (config.auth.accounts) {
    const a = config.auth;
    throttle = new LoginThrottle({
      clock,
      maxFailuresPerUserAndAddress: a.loginMaxFailuresPerUserAndAddress,
      backoffMs: a.loginBackoffSeconds * 1000,
      backoffMaxMs: a.loginBackoffMaxSeconds * 1000,
      maxFailuresPerAddress: a.loginMaxFailuresPerAddress,
      slowdownFailuresPerUser: a.loginSlowdownFailuresPerUser,
      maxSignupsPerAddress: a.signupMaxPerAddress,
      windowMs: a.loginWindowSeconds * 1000,
    });
    registerAuthRoutes(http, {
      accounts,
      signer,
      throttle,
      tokenTtlSeconds: config.auth.tokenTtlSeconds,
      loginGrants: config.auth.loginGrants,
      signup: config.auth.signup,
    });
  }
  registerLobbyRoutes(http, { verifier, catalog: membership.catalog });
  if (config.metrics.enabled) {
    registerMetricsRoutes(http, metrics, {
      connections: () => gateway.connectionCount,
      rooms: () => rooms.count,
      peers: () => rooms.list().reduce((n, room) => n + room.localSize, 0),
    });
  }
  // Built-in accounts with the admin role may sign in to the console (one login throttle for both).
  const admins = throttle ? new ConsoleAdmins(new AdminRoles(db, accounts, clock), clock, secret) : undefined;
  business.registerRoutes(http, { extraRoutes: (api) => registerConsoleRoutes(api, operator), sessions: admins });
  registerAdminPages(http, admins && throttle ? { admins, throttle } : undefined);
  pixelStreaming?.registerRoutes(http);
  if (config.demo.enabled) {
    registerDemoRoutes(http);
  }
  http.server.on(
    'upgrade',
    admission.upgrades((req, socket, head, ticket) => {
      // Epic's frontend connects to any path on the page's port: everything but /ws is the dialect's.
      if (!gateway.handleUpgrade(req, socket, head, ticket) && !pixelStreaming?.handleUpgrade(req, socket, head, ticket)) {
        ticket.release();
        rejectUpgrade(socket, 404);
      }
    }),
  );

  let url = '';
  let closing: Promise<void> | undefined;
  let draining: Promise<void> | undefined;
  /** Idempotent: frees every port, timer, connection and handle. */
  function close(): Promise<void> {
    closing ??= (async () => {
      state = 'closing';
      await gateway.close();
      sessions.close();
      await pixelStreaming?.close();
      await operator.close();
      await http.close();
      await clusterRooms?.close();
      await cluster?.close();
      rooms.close();
      business.close();
      db.close();
    })();
    return closing;
  }

  return {
    get url() {
      return url;
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
    async listen() {
      // A node that cannot reach its cluster does not serve: it would split the service in two.
      await cluster?.start().catch((err: unknown) => {
        // The link port (cluster.linkPort) says so itself; anything else is Redis out of reach.
        throw err instanceof StartupError ? err : redisUnreachable(config.redis.url ?? '', err);
      });
      await operator.start();
      await http.listen({ host: config.host, port: config.port });
      await pixelStreaming?.listen();
      const address = http.server.address() as AddressInfo;
      const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;
      url = `${config.tls.cert ? 'https' : 'http'}://${host}:${address.port}`;
      state = 'ready';
      business.start();
      logger.info({ url }, `Heliograph serving on ${url}`);
      return url;
    },
    drain(reason = 'shutting down') {
      draining ??= (async () => {
        if (state === 'ready') {
          state = 'draining';
          const { timeoutMs, reconnectWithinMs } = config.drain;
          logger.info({ timeoutMs }, 'draining');
          const deadline = clock.now() + timeoutMs;
          await gateway.drain(reason, deadline, Math.min(reconnectWithinMs, timeoutMs));
          // Sessions whose clients left to resume elsewhere wait here to be handed over.
          await untilDeadline(sessions.whenEmpty(), clock, deadline);
        }
        await close();
      })();
      return draining;
    },
    close,
  };
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

function redisUnreachable(url: string, err: unknown): StartupError {
  const why = err instanceof Error ? err.message.replace(/^Redis is unreachable: /, '') : String(err);
  return new StartupError(
    'redis.url',
    `cannot reach Redis at ${redactUrlCredentials(url)} (${why})`,
    'start Redis there, correct --redis.url, or leave it unset for a one-node service',
    { cause: err },
  );
}

/** Waits for `promise`, but not past `deadline` on `clock`. */
async function untilDeadline(promise: Promise<void>, clock: Clock, deadline: number): Promise<void> {
  if (clock.now() >= deadline) {
    return;
  }
  let timer: ReturnType<Clock['setTimeout']> | undefined;
  await Promise.race([promise, new Promise<void>((resolve) => (timer = clock.setTimeout(resolve, Math.max(0, deadline - clock.now()))))]);
  clock.clearTimeout(timer);
}
