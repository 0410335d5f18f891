import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import type { FastifyInstance } from 'fastify';
import type { TokenSigner } from '../auth/token-signer.js';
import type { RoomCatalog } from '../rooms/room-catalog.js';
import type { Rooms } from '../rooms/rooms.js';
import type { ClusterDeadLetters } from '../webhooks/cluster-dead-letters.js';
import { apiKeyHook, auditHook, type ApiKeys, type ConsoleSessions } from './api-keys.js';
import { registerDeadLetterRoutes } from './dead-letters.js';
import { registerPeerRoutes } from './peers.js';
import { registerRoomRoutes } from './rooms.js';
import { registerTokenRoutes } from './tokens.js';

export interface ControlApiDeps {
  /** The configured and stored API keys. */
  keys: ApiKeys;
  rooms: Rooms;
  /** Rooms and peers on every node (`RoomMembership.catalog`). */
  catalog: RoomCatalog;
  signer: TokenSigner;
  /** The webhook dead letters of every node (none when webhooks are off). */
  deadLetters: ClusterDeadLetters;
  version: string;
  /** Console sign-ins of admin accounts, accepted like read-write keys. */
  sessions?: ConsoleSessions | undefined;
  /** More routes under /v1, behind the same keys (the operator console's). */
  extraRoutes?: ((api: FastifyInstance) => void) | undefined;
}

/** Where the OpenAPI document and the browsable docs are served (no key needed). */
export const OPENAPI_PATH = '/v1/openapi.json';
export const DOCS_PATH = '/v1/docs';

/**
 * The control REST API for the business backend, under /v1: rooms, peers, tokens and webhook
 * dead letters, authenticated with API keys (never with user tokens). Its OpenAPI document is
 * generated from the same TypeBox schemas that validate the requests.
 */
export function registerControlApi(app: FastifyInstance, deps: ControlApiDeps): void {
  const { keys } = deps;
  void app.register(async (scope) => {
    await scope.register(swagger, {
      openapi: {
        openapi: '3.1.0',
        info: {
          title: 'Heliograph control API',
          version: deps.version,
          description:
            'For business backends: act on live rooms and peers, mint join tokens, manage webhook dead letters. ' +
            'Every call needs `Authorization: Bearer <API key>`; GET needs a read key, everything else a read-write key. ' +
            'Errors are `{ "error": { "code", "message", "issues"? } }` with the codes of docs/protocol.md.',
        },
        components: {
          securitySchemes: { apiKey: { type: 'http', scheme: 'bearer', description: 'An API key from controlApi.keys or `heliograph keys create`' } },
        },
        security: [{ apiKey: [] }],
        tags: [
          { name: 'rooms', description: 'Live rooms of this node' },
          { name: 'peers', description: 'Peers in a room' },
          { name: 'tokens', description: 'Join tokens' },
          { name: 'webhooks', description: 'Webhook events that could not be delivered, on every node of the cluster' },
          { name: 'console', description: 'The operator console: figures of the node or cluster, and the live signalling inspector' },
        ],
      },
      hideUntagged: true,
    });
    await scope.register(swaggerUi, { routePrefix: DOCS_PATH, uiConfig: { deepLinking: false } });
    scope.get(OPENAPI_PATH, { schema: { hide: true } }, async () => scope.swagger());

    await scope.register(
      async (api) => {
        api.addHook('onRequest', apiKeyHook(keys, deps.sessions));
        api.addHook('onResponse', auditHook);
        registerRoomRoutes(api, deps.rooms, deps.catalog);
        registerPeerRoutes(api, deps.catalog);
        registerTokenRoutes(api, deps.signer);
        registerDeadLetterRoutes(api, deps.deadLetters);
        deps.extraRoutes?.(api);
      },
      { prefix: '/v1' },
    );
  });
}
