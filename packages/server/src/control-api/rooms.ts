import type { FastifyInstance } from 'fastify';
import Type, { type Static } from 'typebox';
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

  api.get<{ Params: Params }>(
    '/rooms/:roomId',
    { schema: { tags, summary: 'Get a room', params: RoomParams, response: { 200: RoomResource, 404: ErrorResponse, ...ERROR_RESPONSES } } },
    async (request) => roomResource(await findRoom(catalog, request.params.roomId)),
  );
  registerRoomChangeRoutes(api, rooms, catalog);
}

/** The routes that change a live room or reach its peers: metadata, close, data. */
function registerRoomChangeRoutes(api: FastifyInstance, rooms: Rooms, catalog: RoomCatalog): void {
  api.patch<{ Params: Params; Body: UpdateRoomBody }>(
    '/rooms/:roomId',
    {
      schema: {
        tags,
        summary: "Replace a room's metadata; its peers get room.updated",
        params: RoomParams,
        body: UpdateRoomBody,
        response: { 200: RoomResource, 404: ErrorResponse, ...ERROR_RESPONSES },
      },
    },
    async (request) => {
      const room = await findRoom(catalog, request.params.roomId);
      rooms.updateRoom(room, request.body.metadata);
      return roomResource(room);
    },
  );

  api.delete<{ Params: Params; Querystring: Static<typeof CloseRoomQuery> }>(
    '/rooms/:roomId',
    {
      schema: {
        tags,
        summary: 'Close a room: every peer gets room.closed with the reason',
        params: RoomParams,
        querystring: CloseRoomQuery,
        response: { 204: Type.Null({ description: 'Closed' }), 404: ErrorResponse, ...ERROR_RESPONSES },
      },
    },
    async (request, reply) => {
      rooms.closeRoom(await findRoom(catalog, request.params.roomId), request.query.reason ?? 'closed by the backend');
      return reply.status(204).send();
    },
  );

  api.post<{ Params: Params; Body: SendToRoomBody }>(
    '/rooms/:roomId/data',
    {
      schema: {
        tags,
        summary: 'Send data to every peer of a room, or to some of them',
        params: RoomParams,
        body: SendToRoomBody,
        response: { 200: Recipients, 404: ErrorResponse, ...ERROR_RESPONSES },
      },
    },
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
