import type { IceServer } from '@heliograph/protocol';
import type { FastifyInstance } from 'fastify';
import { Registry } from 'prom-client';
import type { Clock } from '@heliograph/common';
import type { TokenSigner } from './auth/token-signer.js';
import type { Config } from './config/schema.js';
import { ApiKeyStore } from './control-api/api-key-store.js';
import { ApiKeys } from './control-api/api-keys.js';
import { registerControlApi, type ControlApiDeps } from './control-api/index.js';
import { IceRefresher } from './ice/ice-refresher.js';
import { IceServerIssuer } from './ice/turn-credentials.js';
import { RoomServiceClient } from './room-service/room-service-client.js';
import type { RoomCatalog } from './rooms/room-catalog.js';
import type { Rooms } from './rooms/rooms.js';
import type { IdGenerator } from './shared/ids.js';
import type { Logger } from './shared/logger.js';
import type { Database } from './storage/database.js';
import type { ClusterNode } from './cluster/cluster-node.js';
import { ClusterDeadLetters } from './webhooks/cluster-dead-letters.js';
import { Outbox } from './webhooks/outbox.js';
import { OpenRooms } from './webhooks/open-rooms.js';
import { publishRoomEvents } from './webhooks/room-webhooks.js';
import { Webhooks } from './webhooks/webhooks.js';

export interface BusinessIntegrationDeps {
  config: Config;
  db: Database;
  rooms: Rooms;
  /** Rooms and peers on every node, for the control API. */
  catalog: RoomCatalog;
  signer: TokenSigner;
  clock: Clock;
  ids: IdGenerator;
  logger: Logger;
  metrics: Registry;
  /** In a cluster: webhook events of a room are numbered in one sequence shared by the nodes. */
  cluster?: ClusterNode | undefined;
  /** This node's id (in a cluster, the cluster's): the `node` of its dead letters. */
  nodeId: string;
}

/** How the node works with the business backend: ICE servers, the room service, webhooks, the control API. */
export interface BusinessIntegration {
  /** The ICE servers for one user's connection, TURN credentials minted for it. */
  readonly iceServers: (userId: string) => IceServer[];
  /** The room service client, when `roomService.url` is set. */
  readonly roomService: RoomServiceClient | undefined;
  /** The webhooks, when `webhooks.url` is set; other modules publish their own events through it. */
  readonly webhooks: Webhooks | undefined;
  /** The control API's keys: configured (`controlApi.keys`) and stored in the database. */
  readonly apiKeys: ApiKeys;
  /** The operator console's additions: its routes under /v1 behind the API keys, and its admin sign-ins. */
  registerRoutes(http: FastifyInstance, console?: Pick<ControlApiDeps, 'extraRoutes' | 'sessions'>): void;
  /** Starts delivering webhooks (including those left from before a restart). */
  start(): void;
  /** Stops callouts, deliveries and refresh timers. Call after the rooms have closed, before the database. */
  close(): void;
}

/** Builds the business integration from the configuration. */
export function createBusinessIntegration(deps: BusinessIntegrationDeps): BusinessIntegration {
  const { config, db, rooms, catalog, signer, clock, ids, logger, metrics, cluster, nodeId } = deps;
  const { turn, roomService: rs, webhooks: wh } = config;

  const issuer = new IceServerIssuer({
    fixed: config.iceServers,
    turn: turn.secret !== undefined && turn.urls.length > 0 ? { urls: turn.urls, secret: turn.secret, ttlSeconds: turn.ttlSeconds } : undefined,
    clock,
  });
  const refresher = new IceRefresher(issuer, clock, rooms.events);

  const roomService =
    rs.url !== undefined && rs.secret !== undefined
      ? new RoomServiceClient({
          ...rs,
          url: rs.url,
          secret: rs.secret,
          maxDepth: config.limits.maxDepth,
          clock,
          logger: logger.child({ module: 'room-service' }),
          registry: metrics,
        })
      : undefined;

  let webhooks: Webhooks | undefined;
  let openRooms: OpenRooms | undefined;
  let unsubscribe = (): void => {};
  if (wh.url !== undefined && wh.secret !== undefined) {
    webhooks = new Webhooks({
      ...wh,
      url: wh.url,
      secret: wh.secret,
      outbox: new Outbox(db),
      clock,
      ids,
      logger: logger.child({ module: 'webhooks' }),
      registry: metrics,
      roomSeq: cluster ? (room) => cluster.directory.nextId(`webhook-seq:${room}`) : undefined,
    });
    openRooms = new OpenRooms(db);
    unsubscribe = publishRoomEvents(rooms.events, webhooks, openRooms);
  }

  const deadLetters = new ClusterDeadLetters({
    nodeId,
    webhooks,
    cluster,
    timeoutMs: config.cluster.requestTimeoutMs,
    logger: logger.child({ module: 'webhooks' }),
  });
  const apiKeys = new ApiKeys(config.controlApi.keys, new ApiKeyStore(db, { clock }));

  let closed = false;
  return {
    iceServers: (userId) => issuer.issue(userId).iceServers,
    roomService,
    webhooks,
    apiKeys,
    registerRoutes(http, console = {}) {
      registerControlApi(http, { keys: apiKeys, rooms, catalog, signer, deadLetters, version: '1.0.0', ...console });
    },
    start() {
      if (webhooks && openRooms) {
        const closed = openRooms.closeLeftovers(webhooks);
        if (closed > 0) {
          logger.warn({ rooms: closed }, 'rooms left open by the previous run reported finished (node_lost)');
        }
      }
      webhooks?.start();
    },
    close() {
      if (closed) {
        return;
      }
      closed = true;
      unsubscribe();
      refresher.close();
      roomService?.close();
      webhooks?.close();
    },
  };
}
