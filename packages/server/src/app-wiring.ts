// Parts of the composition root (app.ts), each building or wiring one concern: auth, the cluster
// node, the Pixel Streaming dialect, the account routes, the upgrade routing, and the node's
// lifecycle (listen, drain, close).
import type { AddressInfo } from 'node:net';
import type { FastifyInstance } from 'fastify';
import type { Clock } from '@heliograph/common';
import type { OperatorConsole } from './admin/operator-console.js';
import { AccountStore } from './auth/accounts.js';
import { LoginThrottle } from './auth/login-throttle.js';
import { TokenSigner } from './auth/token-signer.js';
import { createTokenVerifier, type TokenVerifier } from './auth/token-verifier.js';
import type { BusinessIntegration } from './business-integration.js';
import { createRedisClusterNode, type ClusterNode } from './cluster/cluster-node.js';
import type { ClusterRooms } from './cluster/cluster-rooms.js';
import type { Config } from './config/schema.js';
import { registerAuthRoutes } from './http/auth-routes.js';
import type { ClientAddress } from './http/client-address.js';
import type { Inspector } from './inspector/inspector.js';
import { PsGateway } from './pixel-streaming/ps-gateway.js';
import type { RoomMembership } from './rooms/room-membership.js';
import type { Rooms } from './rooms/rooms.js';
import type { SessionRegistry } from './sessions/session-registry.js';
import type { ErrorReporter } from './shared/error-reporter.js';
import type { IdGenerator } from './shared/ids.js';
import { redactUrlCredentials, type Logger } from './shared/logger.js';
import { StartupError } from './shared/startup-error.js';
import { openDatabase, type Database } from './storage/database.js';
import { openSigningSecret, type SigningSecret } from './storage/secret.js';
import type { Admission } from './transport/admission.js';
import { PsRequestLimits } from './transport/request-limits.js';
import { rejectUpgrade } from './transport/upgrade.js';
import type { WsGateway } from './transport/ws-gateway.js';

/** The node's database, built-in accounts, signing secret, token signer and verifier. */
export interface NodeAuth {
  db: Database;
  accounts: AccountStore;
  signing: { secret: string; origin: 'configured' } | SigningSecret;
  signer: TokenSigner;
  verifier: TokenVerifier;
}

export function createAuth(config: Config, clock: Clock, logger: Logger): NodeAuth {
  const db = openDatabase(config.dataDir);
  const accounts = new AccountStore(db);
  const signing = config.auth.jwtSecret ? { secret: config.auth.jwtSecret, origin: 'configured' as const } : openSigningSecret(config.dataDir);
  const { secret } = signing;
  const { issuer, audience, clockToleranceSeconds, jwksUrl, maxTokenTtlSeconds } = config.auth;
  const maxTtlSeconds = maxTokenTtlSeconds;
  const signer = new TokenSigner({ secret, clock, maxTtlSeconds, ...(issuer ? { issuer } : {}), ...(audience ? { audience } : {}) });
  const verifier = createTokenVerifier({ secret, jwksUrl, issuer, audience, clockToleranceSeconds, maxTokenTtlSeconds, clock, logger });
  return { db, accounts, signing, signer, verifier };
}

/** This node's membership of a cluster, when `redis.url` is set. */
export function createClusterNode(config: Config, deps: { ids: IdGenerator; clock: Clock; logger: Logger }): ClusterNode | undefined {
  if (!config.redis.url) {
    return undefined;
  }
  return createRedisClusterNode({
    nodeId: deps.ids('ND'),
    redis: { url: config.redis.url, prefix: config.redis.prefix, commandTimeoutMs: config.redis.commandTimeoutMs },
    timing: config.cluster,
    clock: deps.clock,
    logger: deps.logger,
    links: config.cluster.linkSecret
      ? { secret: config.cluster.linkSecret, host: config.cluster.linkHost, port: config.cluster.linkPort, advertiseHost: config.cluster.linkAdvertiseHost }
      : undefined,
  });
}

export interface DialectDeps {
  inspector: Inspector;
  rooms: Rooms;
  verifier: TokenVerifier;
  clock: Clock;
  logger: Logger;
  errors: ErrorReporter;
  cluster: ClusterNode | undefined;
  membership: RoomMembership;
  /** In a cluster, the rooms across it: the dialect reaches peers of other nodes through them. */
  clusterRooms: ClusterRooms | undefined;
  admission: Admission;
  clientAddress: ClientAddress;
}

/** Epic's Pixel Streaming dialect, for `pixelStreaming.enabled`. */
export function createPixelStreamingDialect(config: Config, deps: DialectDeps): PsGateway {
  const { inspector, rooms, verifier, clock, logger, errors, cluster, clusterRooms, membership, admission, clientAddress } = deps;
  return new PsGateway({
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
    cluster: cluster && clusterRooms && { node: cluster, sinkOf: (node) => clusterRooms.sinkOf(node) },
    membership,
    admission,
    httpTimeouts: config.http,
    requestLimits: new PsRequestLimits(config.pixelStreaming, clock, clientAddress),
    playerPageAtRoot: !config.demo.enabled,
  });
}

/** Login and sign-up for built-in accounts; the login throttle they share with the console. */
export function registerAccountRoutes(
  http: FastifyInstance,
  config: Config,
  { clock, accounts, signer }: { clock: Clock; accounts: AccountStore; signer: TokenSigner },
): LoginThrottle {
  const a = config.auth;
  const throttle = new LoginThrottle({
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
  return throttle;
}

/** Hands each WebSocket upgrade to the native gateway or the Pixel Streaming dialect, else 404. */
export function routeUpgrades(http: FastifyInstance, admission: Admission, gateway: WsGateway, pixelStreaming: PsGateway | undefined): void {
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
}

export type NodeState = 'starting' | 'ready' | 'draining' | 'closing';

/** Where a node is in its life, and its base URL once listening. */
export interface NodeStatus {
  state: NodeState;
  url: string;
}

export interface LifecycleParts {
  config: Config;
  clock: Clock;
  logger: Logger;
  status: NodeStatus;
  cluster: ClusterNode | undefined;
  clusterRooms: ClusterRooms | undefined;
  operator: OperatorConsole;
  http: FastifyInstance;
  pixelStreaming: PsGateway | undefined;
  gateway: WsGateway;
  sessions: SessionRegistry;
  rooms: Rooms;
  business: BusinessIntegration;
  db: Database;
}

/** A node's listen, drain and close, in the order its parts must start and stop. */
export function nodeLifecycle(parts: LifecycleParts): { listen(): Promise<string>; drain(reason?: string): Promise<void>; close(): Promise<void> } {
  const { config, clock, logger, status, cluster, clusterRooms, operator, http, pixelStreaming, gateway, sessions, rooms, business, db } = parts;
  let closing: Promise<void> | undefined;
  let draining: Promise<void> | undefined;
  /** Idempotent: frees every port, timer, connection and handle. */
  function close(): Promise<void> {
    closing ??= (async () => {
      status.state = 'closing';
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
      status.url = `${config.tls.cert ? 'https' : 'http'}://${host}:${address.port}`;
      status.state = 'ready';
      business.start();
      logger.info({ url: status.url }, `Heliograph serving on ${status.url}`);
      return status.url;
    },
    drain(reason = 'shutting down') {
      draining ??= (async () => {
        if (status.state === 'ready') {
          status.state = 'draining';
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
