import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import Type, { type Static } from 'typebox';
import type { Clock } from '@heliograph/common';
import { AppError } from '../shared/app-error.js';
import type { PixelStreamingConfig } from './config.js';
import { pickStreamer, playerCount } from './matchmaking.js';
import { PsPlayerInfo, PsStreamerInfo, type ServiceViewSource } from './service-view.js';
import { sameSecret } from './upgrade-auth.js';

export const PsStatus = Type.Object({
  uptime: Type.Number({ description: 'Milliseconds since the dialect started on this node' }),
  streamer_count: Type.Integer(),
  player_count: Type.Integer(),
  version: Type.String(),
  dropped_messages: Type.Record(Type.String(), Type.Integer()),
  nodes: Type.Integer({ description: 'Nodes whose streamers and players are counted (1 without a cluster)' }),
});
export const PsMatch = Type.Object({
  streamerId: Type.String(),
  signallingUrl: Type.String({ description: "The frontend's `ss` setting" }),
  players: Type.Integer(),
  maxPlayers: Type.Integer({ description: '0 = no per-streamer limit' }),
});
export const PsLegacyMatch = Type.Object({ signallingServer: Type.String(), error: Type.Optional(Type.String()) });
const NotFound = Type.Object({ message: Type.String(), error: Type.Object({ code: Type.String(), message: Type.String() }) });
const IdParams = Type.Object({ id: Type.String() });

export interface RestDeps {
  /** Every node's streamers and players (this node's alone without a cluster). */
  view: ServiceViewSource;
  clock: Clock;
  startedAt: number;
  config: PixelStreamingConfig;
  /** Whether the main port speaks TLS, for the `wss:` in matchmaking answers. */
  secure: boolean;
}

/** The Heliograph version reported by `/api/status`. */
const VERSION = '0.1.0';

function notFound(reply: FastifyReply, message: string) {
  // Wilbur answers `{ message }`; Heliograph's error shape rides along.
  return reply.status(404).send({ message, error: { code: 'NOT_FOUND', message } });
}

/**
 * Wilbur's read-only REST view (`/api/status`, `/api/streamers[/{id}]`, `/api/players[/{id}]`)
 * and matchmaking (`/api/match`, the legacy `/signallingserver`). No configuration, peer options,
 * tokens or TURN credentials are ever shown (Wilbur's `/api/config` is deliberately absent).
 */
export function registerPixelStreamingRoutes(app: FastifyInstance, deps: RestDeps): void {
  const { view, config } = deps;
  const guard = async (req: FastifyRequest) => {
    const expected = config.restToken;
    if (expected === undefined) {
      return;
    }
    const match = /^Bearer\s+(\S+)$/i.exec(req.headers.authorization ?? '');
    if (!match?.[1] || !sameSecret(match[1], expected)) {
      throw new AppError('UNAUTHORIZED', 'missing or wrong REST token');
    }
  };
  const cors = async (_req: FastifyRequest, reply: FastifyReply) => {
    void reply.header('access-control-allow-origin', '*').header('cache-control', 'no-store');
  };
  const opts = (response: Record<number, unknown>, params?: typeof IdParams) => ({
    onRequest: [guard, cors],
    schema: params ? { params, response } : { response },
  });

  app.get('/api/status', opts({ 200: PsStatus }), async () => {
    const { streamers, players, drops, nodes } = await view.view();
    return {
      uptime: deps.clock.now() - deps.startedAt,
      streamer_count: streamers.length,
      player_count: players.filter((p) => p.type === 'Player').length,
      version: VERSION,
      dropped_messages: drops,
      nodes,
    };
  });
  // The response schemas are Wilbur's shapes: what the view knows beyond them (`identified`, `order`) is not sent.
  app.get('/api/streamers', opts({ 200: Type.Array(PsStreamerInfo) }), async () => (await view.view()).streamers);
  app.get<{ Params: Static<typeof IdParams> }>('/api/streamers/:id', opts({ 200: PsStreamerInfo, 404: NotFound }, IdParams), async (req, reply) => {
    const streamer = (await view.view()).streamers.find((s) => s.streamerId === req.params.id);
    return streamer ?? notFound(reply, `No streamer with id ${req.params.id}`);
  });
  app.get('/api/players', opts({ 200: Type.Array(PsPlayerInfo) }), async () => (await view.view()).players);
  app.get<{ Params: Static<typeof IdParams> }>('/api/players/:id', opts({ 200: PsPlayerInfo, 404: NotFound }, IdParams), async (req, reply) => {
    const player = (await view.view()).players.find((p) => p.playerId === req.params.id);
    return player ?? notFound(reply, `No player with id ${req.params.id}`);
  });

  app.get('/api/match', opts({ 200: PsMatch }), async (req) => {
    const streamer = pickStreamer((await view.view()).streamers, config.maxPlayersPerStreamer);
    if (!streamer) {
      throw new AppError('UNAVAILABLE', 'No streamer has a free player slot');
    }
    return {
      streamerId: streamer.streamerId,
      signallingUrl: publicBase(req, deps),
      players: playerCount(streamer),
      maxPlayers: streamer.type === 'Streamer' ? config.maxPlayersPerStreamer : 0,
    };
  });
  app.get('/signallingserver', opts({ 200: PsLegacyMatch }), async (req) => {
    const streamer = pickStreamer((await view.view()).streamers, config.maxPlayersPerStreamer);
    if (!streamer) {
      return { signallingServer: '', error: 'No signalling servers available' };
    }
    return {
      signallingServer: publicBase(req, deps)
        .replace(/^wss?:\/\//, '')
        .replace(/\/$/, ''),
    };
  });
}

/** Where players connect: `publicUrl`, else this request's host on the main port. */
function publicBase(req: FastifyRequest, deps: RestDeps): string {
  if (deps.config.publicUrl) {
    return deps.config.publicUrl.replace(/^http/, 'ws');
  }
  return `${deps.secure ? 'wss' : 'ws'}://${req.headers.host ?? 'localhost'}`;
}
