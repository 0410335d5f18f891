import type { FastifyInstance } from 'fastify';
import Type, { type Static, type TSchema } from 'typebox';
import type { RoomCatalog } from '../rooms/room-catalog.js';
import type { Rooms } from '../rooms/rooms.js';
import { AppError } from '../shared/app-error.js';
import { findRoom, serverDataJson } from './control-context.js';
import {
  CloseRoomQuery,
  CreateRoomBody,
  ERROR_RESPONSES,
  ErrorResponse,
  Paging,
  Recipients,
  RoomParams,
  RoomResource,
  roomResource,
  summaryResource,
  SendToRoomBody,
  UpdateRoomBody,
} from './schemas.js';

const RoomPage = Type.Object({ rooms: Type.Array(RoomResource), nextCursor: Type.Optional(Type.String()) });
type RoomPage = Static<typeof RoomPage>;
type Params = Static<typeof RoomParams>;
const tags = ['rooms'];

/** The schema of a route on one room (`/rooms/:roomId`): its input, its answers, and 404 when there is no such room. */
function oneRoom(summary: string, input: { body?: TSchema; querystring?: TSchema }, answers: Record<number, TSchema>) {
  return { tags, summary, params: RoomParams, ...input, response: { ...answers, 404: ErrorResponse, ...ERROR_RESPONSES } };
}

/** Rooms: create, list (paged by id), get, update metadata, close, and send data to everyone in one. */
export function registerRoomRoutes(api: FastifyInstance, rooms: Rooms, catalog: RoomCatalog): void {
  api.get<{ Querystring: Static<typeof Paging> }>(
    '/rooms',
    { schema: { tags, summary: 'List live rooms, ordered by id', querystring: Paging, response: { 200: RoomPage, ...ERROR_RESPONSES } } },
    async (request): Promise<RoomPage> => {
      const { limit = 50, cursor } = request.query;
      const sorted = (await catalog.list()).filter((room) => cursor === undefined || room.id > cursor).sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
      const page = sorted.slice(0, limit);
      const last = page.at(-1);
      return sorted.length > limit && last ? { rooms: page.map(summaryResource), nextCursor: last.id } : { rooms: page.map(summaryResource) };
    },
  );

  api.post<{ Body: CreateRoomBody }>(
    '/rooms',
    {
      schema: {
        tags,
        summary: 'Create an empty room; it lives emptyTimeoutMs unless someone joins',
        body: CreateRoomBody,
        response: { 201: RoomResource, 409: ErrorResponse, ...ERROR_RESPONSES },
      },
    },
    async (request, reply) => {
      const { id, ...options } = request.body;
      const room = await catalog.create(id, options);
      return reply.status(201).send(roomResource(room));
    },
  );

  api.get<{ Params: Params }>('/rooms/:roomId', { schema: oneRoom('Get a room', {}, { 200: RoomResource }) }, async (request) =>
    roomResource(await findRoom(catalog, request.params.roomId)),
  );
  registerRoomChangeRoutes(api, rooms, catalog);
}

/** The routes that change a live room or reach its peers: metadata, close, data. */
function registerRoomChangeRoutes(api: FastifyInstance, rooms: Rooms, catalog: RoomCatalog): void {
  api.patch<{ Params: Params; Body: UpdateRoomBody }>(
    '/rooms/:roomId',
    { schema: oneRoom("Replace a room's metadata; its peers get room.updated", { body: UpdateRoomBody }, { 200: RoomResource }) },
    async (request) => {
      const room = await findRoom(catalog, request.params.roomId);
      rooms.updateRoom(room, request.body.metadata);
      return roomResource(room);
    },
  );

  api.delete<{ Params: Params; Querystring: Static<typeof CloseRoomQuery> }>(
    '/rooms/:roomId',
    {
      schema: oneRoom(
        'Close a room: every peer gets room.closed with the reason',
        { querystring: CloseRoomQuery },
        { 204: Type.Null({ description: 'Closed' }) },
      ),
    },
    async (request, reply) => {
      rooms.closeRoom(await findRoom(catalog, request.params.roomId), request.query.reason ?? 'closed by the backend');
      return reply.status(204).send();
    },
  );

  api.post<{ Params: Params; Body: SendToRoomBody }>(
    '/rooms/:roomId/data',
    { schema: oneRoom('Send data to every peer of a room, or to some of them', { body: SendToRoomBody }, { 200: Recipients }) },
    async (request) => {
      const room = await findRoom(catalog, request.params.roomId);
      const json = serverDataJson(request.body.payload);
      const to = request.body.to;
      if (!to) {
        return { recipients: room.broadcast('data', json) };
      }
      const peers = [...new Set(to)].map((id) => {
        const peer = room.peers.get(id);
        if (!peer) {
          throw new AppError('PEER_NOT_FOUND', `No peer "${id}" in room "${room.id}"`);
        }
        return peer;
      });
      const sent = await Promise.all(
        peers.map((peer) =>
          catalog.sendTo(peer, 'data', json).then(
            () => true,
            () => false,
          ),
        ),
      );
      return { recipients: sent.filter(Boolean).length };
    },
  );
}
