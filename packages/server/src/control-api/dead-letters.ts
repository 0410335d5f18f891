import type { FastifyInstance } from 'fastify';
import Type, { type Static } from 'typebox';
import { AppError } from '../shared/app-error.js';
import type { Webhooks } from '../webhooks/webhooks.js';
import { ERROR_RESPONSES, ErrorResponse } from './schemas.js';

const DeadLetter = Type.Object({
  id: Type.String({ description: 'The event id' }),
  type: Type.String(),
  room: Type.String({ description: "The event's room, or empty for events of no room" }),
  seq: Type.Integer({ description: "The event's place in its room's sequence" }),
  createdAt: Type.Number(),
  attempts: Type.Integer(),
  lastError: Type.Union([Type.String(), Type.Null()]),
  event: Type.Unknown({ description: 'The event body exactly as it is POSTed' }),
});
const DeadLetterPage = Type.Object({ deadLetters: Type.Array(DeadLetter), nextCursor: Type.Optional(Type.String()) });
type DeadLetterPage = Static<typeof DeadLetterPage>;
const PageQuery = Type.Object(
  {
    limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 100, default: 50 })),
    cursor: Type.Optional(Type.String({ pattern: '^[0-9]{1,15}$', description: 'The `nextCursor` of the previous page' })),
  },
  { additionalProperties: false },
);
const EventParams = Type.Object({ eventId: Type.String({ minLength: 1, maxLength: 64 }) }, { additionalProperties: false });
type EventParams = Static<typeof EventParams>;
const tags = ['webhooks'];

/** Webhook events that ran out of attempts: list, redeliver, discard. Empty when webhooks are off. */
export function registerDeadLetterRoutes(api: FastifyInstance, webhooks: Webhooks | undefined): void {
  const need = (): Webhooks => {
    if (!webhooks) {
      throw new AppError('NOT_FOUND', 'Webhooks are not configured (webhooks.url)');
    }
    return webhooks;
  };

  api.get<{ Querystring: Static<typeof PageQuery> }>(
    '/webhooks/dead-letters',
    { schema: { tags, summary: 'List dead letters, oldest first', querystring: PageQuery, response: { 200: DeadLetterPage, ...ERROR_RESPONSES } } },
    async (request): Promise<DeadLetterPage> => {
      if (!webhooks) {
        return { deadLetters: [] };
      }
      const { limit, cursor } = request.query;
      const page = webhooks.deadLetters(limit ?? 50, cursor === undefined ? undefined : Number(cursor));
      return page.nextCursor === undefined ? { deadLetters: page.items } : { deadLetters: page.items, nextCursor: String(page.nextCursor) };
    },
  );

  api.post<{ Params: EventParams }>(
    '/webhooks/dead-letters/:eventId/redeliver',
    {
      schema: {
        tags,
        summary: "Put a dead letter back at the head of its room's queue, with fresh attempts",
        params: EventParams,
        response: { 202: Type.Object({ id: Type.String() }), 404: ErrorResponse, ...ERROR_RESPONSES },
      },
    },
    async (request, reply) => {
      if (!need().redeliver(request.params.eventId)) {
        throw new AppError('NOT_FOUND', `No dead letter "${request.params.eventId}"`);
      }
      return reply.status(202).send({ id: request.params.eventId });
    },
  );

  api.delete<{ Params: EventParams }>(
    '/webhooks/dead-letters/:eventId',
    {
      schema: {
        tags,
        summary: 'Discard a dead letter for good',
        params: EventParams,
        response: { 204: Type.Null({ description: 'Discarded' }), 404: ErrorResponse, ...ERROR_RESPONSES },
      },
    },
    async (request, reply) => {
      if (!need().discard(request.params.eventId)) {
        throw new AppError('NOT_FOUND', `No dead letter "${request.params.eventId}"`);
      }
      return reply.status(204).send();
    },
  );
}
