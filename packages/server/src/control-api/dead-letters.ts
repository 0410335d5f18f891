import type { FastifyInstance } from 'fastify';
import Type, { type Static } from 'typebox';
import type { ClusterDeadLetters, DeadLetterAction } from '../webhooks/cluster-dead-letters.js';
import { CURSOR_PATTERN } from '../webhooks/dead-letter-pages.js';
import { DEAD_LETTER_FIELDS } from '../webhooks/dead-letter-schema.js';
import { ERROR_RESPONSES, ErrorResponse } from './schemas.js';

const NodeId = Type.String({ pattern: '^[A-Za-z0-9_-]{1,64}$', description: 'The id of the node whose outbox holds it' });
const DeadLetter = Type.Object({ ...DEAD_LETTER_FIELDS, node: NodeId });
const DeadLetterPage = Type.Object({
  deadLetters: Type.Array(DeadLetter),
  nextCursor: Type.Optional(Type.String()),
  unreachable: Type.Array(Type.String(), {
    description: 'Nodes that did not answer in time: their dead letters are not in this page (empty when every node answered)',
  }),
});
type DeadLetterPage = Static<typeof DeadLetterPage>;
const PageQuery = Type.Object(
  {
    limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 100, default: 50 })),
    cursor: Type.Optional(Type.String({ pattern: CURSOR_PATTERN, maxLength: 5200, description: 'The `nextCursor` of the previous page' })),
  },
  { additionalProperties: false },
);
const EventParams = Type.Object({ eventId: Type.String({ minLength: 1, maxLength: 64 }) }, { additionalProperties: false });
type EventParams = Static<typeof EventParams>;
const NodeQuery = Type.Object(
  { node: Type.Optional({ ...NodeId, description: "The dead letter's `node` (without it, every node is asked)" }) },
  { additionalProperties: false },
);
type NodeQuery = Static<typeof NodeQuery>;
/** Refusals of a redeliver or discard: no such dead letter, or the node that may hold it did not answer. */
const ACT_ERRORS = { 404: ErrorResponse, 503: ErrorResponse, ...ERROR_RESPONSES } as const;
const tags = ['webhooks'];

/**
 * Webhook events that ran out of attempts, on every node of the cluster: list, redeliver,
 * discard. Empty when webhooks are off.
 */
export function registerDeadLetterRoutes(api: FastifyInstance, deadLetters: ClusterDeadLetters): void {
  api.get<{ Querystring: Static<typeof PageQuery> }>(
    '/webhooks/dead-letters',
    {
      schema: {
        tags,
        summary: 'List dead letters of every node, oldest first, each with the node that holds it',
        querystring: PageQuery,
        response: { 200: DeadLetterPage, ...ERROR_RESPONSES },
      },
    },
    async (request): Promise<DeadLetterPage> => deadLetters.list(request.query.limit ?? 50, request.query.cursor),
  );

  const act = (action: DeadLetterAction, request: { params: EventParams; query: NodeQuery }) =>
    deadLetters.act(action, request.params.eventId, request.query.node);

  api.post<{ Params: EventParams; Querystring: NodeQuery }>(
    '/webhooks/dead-letters/:eventId/redeliver',
    {
      schema: {
        tags,
        summary: "Put a dead letter back at the head of its room's queue, with fresh attempts, on the node that holds it",
        params: EventParams,
        querystring: NodeQuery,
        response: { 202: Type.Object({ id: Type.String(), node: NodeId }), ...ACT_ERRORS },
      },
    },
    async (request, reply) => reply.status(202).send({ id: request.params.eventId, node: await act('redeliver', request) }),
  );

  api.delete<{ Params: EventParams; Querystring: NodeQuery }>(
    '/webhooks/dead-letters/:eventId',
    {
      schema: {
        tags,
        summary: 'Discard a dead letter for good, on the node that holds it',
        params: EventParams,
        querystring: NodeQuery,
        response: { 204: Type.Null({ description: 'Discarded' }), ...ACT_ERRORS },
      },
    },
    async (request, reply) => {
      await act('discard', request);
      return reply.status(204).send();
    },
  );
}
