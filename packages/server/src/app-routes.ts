// The HTTP routes of a node and its WebSocket gateway, wired by the composition root (app.ts).
import type { FastifyInstance } from 'fastify';
import type { Registry } from 'prom-client';
import type { Clock } from '@heliograph/common';
import { registerAdminPages } from './admin/admin-pages.js';
import { AdminRoles, ConsoleAdmins } from './admin/console-admins.js';
import { registerConsoleRoutes } from './admin/console-routes.js';
import type { OperatorConsole } from './admin/operator-console.js';
import { registerAccountRoutes, type NodeStatus } from './app-wiring.js';
import type { AccountStore } from './auth/accounts.js';
import type { TokenSigner } from './auth/token-signer.js';
import type { TokenVerifier } from './auth/token-verifier.js';
import type { BusinessIntegration } from './business-integration.js';
import type { Config } from './config/schema.js';
import { registerDemoRoutes } from './http/demo-routes.js';
import { installDepthGuard } from './http/depth-guard.js';
import { registerHealthRoutes } from './http/health-routes.js';
import { registerLobbyRoutes } from './http/lobby-routes.js';
import { registerMetricsRoutes } from './http/metrics-routes.js';
import type { PsGateway } from './pixel-streaming/ps-gateway.js';
import type { RoomMembership } from './rooms/room-membership.js';
import type { Rooms } from './rooms/rooms.js';
import type { SessionRegistry } from './sessions/session-registry.js';
import type { ErrorReporter } from './shared/error-reporter.js';
import type { Logger } from './shared/logger.js';
import type { Database } from './storage/database.js';
import type { Dispatcher } from './transport/dispatcher.js';
import { RequestLimits } from './transport/request-limits.js';
import { WsGateway } from './transport/ws-gateway.js';

export interface RouteDeps {
  config: Config;
  clock: Clock;
  status: NodeStatus;
  db: Database;
  accounts: AccountStore;
  signer: TokenSigner;
  secret: string;
  verifier: TokenVerifier;
  membership: RoomMembership;
  metrics: Registry;
  gateway: WsGateway;
  rooms: Rooms;
  business: BusinessIntegration;
  operator: OperatorConsole;
  pixelStreaming: PsGateway | undefined;
}

/** Every HTTP route of the node's main port: health, accounts, lobby, metrics, control API, console, dialect, demo. */
export function registerRoutes(http: FastifyInstance, deps: RouteDeps): void {
  const { config, clock, status, db, accounts, signer, secret, verifier, membership, metrics, gateway, rooms, business, operator, pixelStreaming } = deps;
  installDepthGuard(http, config.limits.maxDepth);
  registerHealthRoutes(http, () => status.state === 'ready');
  const throttle = config.auth.accounts ? registerAccountRoutes(http, config, { clock, accounts, signer }) : undefined;
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
}

/** The native protocol's WebSocket endpoint (`/ws`). */
export function createGateway(
  config: Config,
  deps: { verifier: TokenVerifier; dispatcher: Dispatcher; sessions: SessionRegistry; clock: Clock; logger: Logger; errors: ErrorReporter },
): WsGateway {
  // Request rates per user and per address: one set per node, so reconnecting refills nothing.
  const requests = new RequestLimits(config.limits, deps.clock);
  return new WsGateway({
    path: '/ws',
    verifier: deps.verifier,
    dispatcher: deps.dispatcher,
    sessions: deps.sessions,
    clock: deps.clock,
    logger: deps.logger,
    errors: deps.errors,
    limits: { ...config.limits, requests },
    ping: config.ping,
  });
}
