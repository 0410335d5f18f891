import Type, { type Static } from 'typebox';
import { Burst, Rate, Section } from '../config/schema-kinds.js';

const Port = (fallback: number, what: string) =>
  Type.Integer({ minimum: 0, maximum: 65535, default: fallback, description: `${what} WebSocket port (Epic's default); 0 picks a free one` });

const Paths = (who: string) =>
  Type.Array(Type.String({ pattern: '^/' }), {
    default: [],
    description: `URL paths ${who} may connect on (a trailing \`*\` matches a prefix); empty means any path`,
  });

const PlayerPageSchema = Section({
  enabled: Type.Boolean({
    default: true,
    description: "Serve Epic's player page (its published frontend UI, bundled at build time) at `path`, as Wilbur serves its `www`",
  }),
  ueLine: Type.Union([Type.Literal('5.5'), Type.Literal('5.6'), Type.Literal('5.7')], {
    default: '5.7',
    description: "Which UE line's published frontend UI the page is (`5.5`, `5.6` or `5.7`)",
  }),
  path: Type.String({
    pattern: '^/[^?#]*$',
    default: '/player.html',
    description: 'Where the page is served (with `demo.enabled` off, also at `/`, like Wilbur); its script is `player.js` beside it',
  }),
});

/** The `pixelStreaming` section of the configuration: Epic's signalling dialect, off by default. */
export const PixelStreamingConfigSchema = Section({
  enabled: Type.Boolean({
    default: false,
    description: "Serve Epic's Pixel Streaming signalling (players on the main port, streamers and SFUs on their own ports)",
  }),
  streamerPort: Port(8888, 'Streamer'),
  sfuPort: Port(8889, 'SFU'),
  sfuEnabled: Type.Boolean({ default: true, description: 'Open the SFU port' }),
  playerPaths: Paths('players (on the main port; never `/ws`, the native endpoint)'),
  streamerPaths: Paths('streamers'),
  sfuPaths: Paths('SFUs'),
  maxPlayersPerStreamer: Type.Integer({
    minimum: 0,
    default: 0,
    description: 'Subscribers per streamer (players and SFUs); 0 = only the presence room limit (`rooms.maxPeers`)',
  }),
  maxConnections: Type.Integer({ minimum: 1, default: 10_000, description: 'Open dialect WebSockets (all three kinds); more are refused with 503' }),
  maxMessageBytes: Type.Integer({ minimum: 1024, default: 1_048_576, description: 'Larger frames close the connection with 1009' }),
  messagesPerSecond: Rate(200, 'Sustained message rate per connection; messages beyond the burst are dropped and counted'),
  messageBurst: Burst(400, 'Messages a connection may send at once (ICE trickles in bursts)'),
  userMessagesPerSecond: Rate(400, "Sustained message rate per player identity (with `auth.players`), shared by the user's player sockets on this node"),
  userMessageBurst: Burst(800, 'Messages a player identity may send at once'),
  addressMessagesPerSecond: Rate(4000, 'Sustained message rate per client address, per node; players and streamers/SFUs are counted apart'),
  addressMessageBurst: Burst(8000, 'Messages one client address may send at once'),
  playerIdInForwards: Type.Union([Type.Literal('keep'), Type.Literal('strip')], {
    default: 'keep',
    description: 'Streamer→player `offer`/`answer`/`iceCandidate` keep `playerId` (UE 5.7+) or lose it (UE 5.5/5.6)',
  }),
  badMessages: Type.Union([Type.Literal('ignore'), Type.Literal('close')], {
    default: 'ignore',
    description: 'Bad JSON, unknown or malformed messages are ignored and counted (Wilbur) or close the socket with 1008 (Cirrus)',
  }),
  duplicateStreamerIds: Type.Union([Type.Literal('rename'), Type.Literal('replace'), Type.Literal('reject')], {
    default: 'rename',
    description: 'A streamer asking for an id another streamer holds is renamed (`Id1`, `Id2`…), replaces the holder, or is closed with 1008',
  }),
  allowedStreamerIds: Type.Array(Type.String({ minLength: 1 }), {
    default: [],
    description: 'Streamer ids that may register (a trailing `*` matches a prefix); empty allows any',
  }),
  playerPingIntervalMs: Type.Integer({
    minimum: 0,
    default: 30_000,
    description: 'Server `ping` to players; a player that has not answered by the next one is dropped; 0 = off',
  }),
  streamerPingIntervalMs: Type.Integer({
    minimum: 0,
    default: 30_000,
    description: 'WebSocket ping to streamers and SFUs; one silent for a whole interval is dropped; 0 = off',
  }),
  peerConnectionOptions: Type.Optional(
    Type.Record(Type.String(), Type.Unknown(), {
      description: 'The `config.peerConnectionOptions` sent to every peer (JSON); unset = `iceServers` plus minted `turn` credentials',
    }),
  ),
  auth: Section({
    players: Type.Boolean({ default: false, description: 'Players need a Heliograph JWT (`?token=`) whose grants cover `ps:<streamerId>`' }),
    streamers: Type.Boolean({
      default: false,
      description: 'Streamers and SFUs need `streamerToken` or a JWT with a `create` grant on `ps:<streamerId>`',
    }),
    streamerToken: Type.Optional(
      Type.String({ minLength: 16, secret: true, description: 'Shared token a streamer or SFU may present (`?token=`) to claim any allowed id' }),
    ),
  }),
  restApi: Type.Boolean({ default: true, description: "Serve Wilbur's read-only REST view (`/api/status`, `/api/streamers`, …) and matchmaking" }),
  restToken: Type.Optional(
    Type.String({ minLength: 16, secret: true, description: 'When set, the REST view and matchmaking need `Authorization: Bearer <restToken>`' }),
  ),
  playerPage: PlayerPageSchema,
  publicUrl: Type.Optional(Type.String({ description: 'Where players connect, as told by matchmaking (`wss://ps.example.com`); default: from the request' })),
});

export type PixelStreamingConfig = Static<typeof PixelStreamingConfigSchema>;
export type PlayerPageConfig = Static<typeof PlayerPageSchema>;
