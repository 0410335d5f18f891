import type { FastifyInstance } from 'fastify';
import Type, { type Static } from 'typebox';
import type { RoomCatalog } from '../rooms/room-catalog.js';
import { findPeer, findRoom, serverDataJson } from './control-context.js';
import {
  ERROR_RESPONSES,
  ErrorResponse,
  KickBody,
  PeerParams,
  PeerResource,
  peerResource,
  Recipients,
  RoomParams,
  SendToPeerBody,
  UpdatePeerBody,
} from './schemas.js';

const PeerList = Type.Object({ peers: Type.Array(PeerResource) });
type Params = Static<typeof PeerParams>;
const tags = ['peers'];
const notFound = { 404: ErrorResponse };

/** Peers of a room: list, get, update (name, metadata, permissions), kick, send data to one. */
export function registerPeerRoutes(api: FastifyInstance, catalog: RoomCatalog): void {
  api.get<{ Params: Static<typeof RoomParams> }>(
    '/rooms/:roomId/peers',
    { schema: { tags, summary: 'List the peers of a room', params: RoomParams, response: { 200: PeerList, ...notFound, ...ERROR_RESPONSES } } },
    async (request) => ({ peers: [...(await findRoom(catalog, request.params.roomId)).peers.values()].map(peerResource) }),
  );

  api.get<{ Params: Params }>(
    '/rooms/:roomId/peers/:peerId',
    { schema: { tags, summary: 'Get a peer', params: PeerParams, response: { 200: PeerResource, ...notFound, ...ERROR_RESPONSES } } },
    async (request) => peerResource(await findPeer(catalog, request.params.roomId, request.params.peerId)),
  );

  api.patch<{ Params: Params; Body: UpdatePeerBody }>(
    '/rooms/:roomId/peers/:peerId',
    {
      schema: {
        tags,
        summary: "Change a peer's name, metadata or permissions; the room (the peer included) gets peer.updated",
        params: PeerParams,
        body: UpdatePeerBody,
        response: { 200: PeerResource, ...notFound, ...ERROR_RESPONSES },
      },
    },
    async (request) => {
      const peer = await findPeer(catalog, request.params.roomId, request.params.peerId);
      const permissions = await catalog.updatePeer(peer, request.body);
      return { ...peer.info(), permissions: { ...permissions } };
    },
  );

  api.post<{ Params: Params; Body: Static<typeof KickBody> }>(
    '/rooms/:roomId/peers/:peerId/kick',
    {
      schema: {
        tags,
        summary: 'Remove a peer from its room: it gets room.kicked with the reason, the others peer.left (kicked)',
        params: PeerParams,
        body: KickBody,
        response: { 204: Type.Null({ description: 'Kicked' }), ...notFound, ...ERROR_RESPONSES },
      },
    },
    async (request, reply) => {
      const peer = await findPeer(catalog, request.params.roomId, request.params.peerId);
      await catalog.kick(peer, request.body.reason ?? 'removed by the backend');
      return reply.status(204).send();
    },
  );

  api.post<{ Params: Params; Body: Static<typeof SendToPeerBody> }>(
    '/rooms/:roomId/peers/:peerId/data',
    {
      schema: {
        tags,
        summary: 'Send data to one peer (a data event from "server")',
        params: PeerParams,
        body: SendToPeerBody,
        response: { 200: Recipients, 503: ErrorResponse, ...notFound, ...ERROR_RESPONSES },
      },
    },
    async (request) => {
      const peer = await findPeer(catalog, request.params.roomId, request.params.peerId);
      await catalog.sendTo(peer, 'data', serverDataJson(request.body.payload));
      return { recipients: 1 };
    },
  );
}
