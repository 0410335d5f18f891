import { DisplayName, Metadata } from '@heliograph/protocol';
import type { FastifyInstance } from 'fastify';
import Type, { type Static } from 'typebox';
import type { TokenSigner } from '../auth/token-signer.js';
import { ERROR_RESPONSES } from './schemas.js';

export const MintTokenBody = Type.Object(
  {
    userId: Type.String({ minLength: 1, maxLength: 256, description: 'The `sub` of the token: one session per user and room' }),
    room: Type.String({
      minLength: 1,
      maxLength: 129,
      pattern: '^(\\*|[A-Za-z0-9_.:@-]+\\*?)$',
      description: 'A room id, a prefix ending in `*`, or `*` for every room',
    }),
    name: Type.Optional(DisplayName),
    metadata: Type.Optional(Metadata),
    create: Type.Optional(Type.Boolean({ default: true, description: 'Whether the token may create the room when it does not exist' })),
    ttlSeconds: Type.Optional(
      Type.Integer({
        minimum: 10,
        maximum: 604_800,
        // No schema default: Fastify would fill it in before the handler can fit it under the cap.
        description: 'Lifetime in seconds; over auth.maxTokenTtlSeconds is BAD_REQUEST. Absent: 3600, or auth.maxTokenTtlSeconds when that is lower',
      }),
    ),
  },
  { additionalProperties: false },
);
export type MintTokenBody = Static<typeof MintTokenBody>;

const MintedToken = Type.Object({
  token: Type.String({ description: 'A join token (JWT) for ws(s)://…/ws?token=…' }),
  /** Milliseconds since the epoch. */
  expiresAt: Type.Number(),
});

/** `POST /v1/tokens`: a join token for a user and a room, signed with the node's secret. */
export function registerTokenRoutes(api: FastifyInstance, signer: TokenSigner): void {
  api.post<{ Body: MintTokenBody }>(
    '/tokens',
    {
      schema: {
        tags: ['tokens'],
        summary: 'Mint a join token for a user and a room',
        body: MintTokenBody,
        response: { 201: MintedToken, ...ERROR_RESPONSES },
      },
    },
    async (request, reply) => {
      const { userId, room, name, metadata, create = true } = request.body;
      // The signer refuses a ttl over auth.maxTokenTtlSeconds with BAD_REQUEST; the default fits under it.
      const ttlSeconds = request.body.ttlSeconds ?? Math.min(3600, signer.maxTtlSeconds);
      const minted = await signer.mint({
        userId,
        grants: [{ room, join: true, create }],
        ttlSeconds,
        ...(name !== undefined && { name }),
        ...(metadata !== undefined && { metadata }),
      });
      void reply.header('cache-control', 'no-store');
      return reply.status(201).send(minted);
    },
  );
}
