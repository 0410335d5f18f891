import Type, { type Static, type TSchema } from 'typebox';
import { Compile, type Validator } from 'typebox/compile';
import { DEFAULT_MAX_DEPTH, tooDeepAt, tooDeepMessage } from './json-depth.js';

/**
 * The Pixel Streaming dialect: the JSON messages of Epic's signalling protocol 1.3.0 (Wilbur),
 * kept apart from Heliograph's native protocol. Inbound schemas check only the fields the server
 * reads; every other field passes through unchanged (bitrates, `scalabilityMode`, future fields).
 */
export const PS_PROTOCOL_VERSION = '1.3.0';

/** Player ids the server mints: `Player0`, `Player1`… (never `SFU_…`, which Unreal treats as an SFU). */
export const PsPlayerId = Type.String({ minLength: 1, maxLength: 64 });
/** Streamer ids as Unreal sends them (`-PixelStreamingID=`); Heliograph also needs them URL-safe. */
export const PsStreamerId = Type.String({ maxLength: 100 });
/** A streamer id Heliograph will register: 1–100 URL-safe characters. */
export const PS_STREAMER_ID_PATTERN = /^[A-Za-z0-9_.:@-]{1,100}$/;

const Empty = Type.Object({});
const Time = Type.Object({ time: Type.Optional(Type.Number()) });
const Sdp = { sdp: Type.String() };
/**
 * Which player a streamer's or SFU's message is for. A player's own `playerId` is overwritten with
 * its id, so anything goes there; Epic's libraries build messages with protobuf-ts `create()`,
 * which fills an unset `playerId` with `""`, and such a message must pass (an empty target from a
 * streamer matches no player and is dropped as unroutable).
 */
const TargetId = Type.String({ maxLength: 64 });
const Target = { playerId: Type.Optional(TargetId) };
/** Data-channel stream ids: read by the peers, never by the server. */
const StreamIds = { sendStreamId: Type.Optional(Type.Number()), recvStreamId: Type.Optional(Type.Number()) };

/**
 * Every message a streamer, player or SFU may send, by `type`: the fields the server relies on.
 * Conformance by construction: each message as Epic's common library builds it (`createMessage`,
 * protobuf-ts `create()`: unset strings `""`, numbers 0, message fields absent) passes, on every
 * UE line; a field the server overwrites or only forwards is never a reason to drop a message.
 */
export const PS_INBOUND = {
  endpointId: Type.Object({ id: Type.Optional(PsStreamerId), protocolVersion: Type.Optional(Type.String()) }),
  listStreamers: Empty,
  subscribe: Type.Object({ streamerId: PsStreamerId }),
  unsubscribe: Empty,
  offer: Type.Object({ ...Sdp, ...Target }),
  answer: Type.Object({ ...Sdp, ...Target }),
  // `candidate` is a message field: absent when unset. Forwarded unchanged, never read here.
  iceCandidate: Type.Object({ candidate: Type.Optional(Type.Unknown()), ...Target }),
  layerPreference: Type.Object({ spatialLayer: Type.Number(), temporalLayer: Type.Number(), ...Target }),
  dataChannelRequest: Type.Object({ ...Target }),
  peerDataChannelsReady: Type.Object({ ...Target }),
  // An empty target reaches nobody (unroutable), as in Wilbur.
  peerDataChannels: Type.Object({ playerId: TargetId, ...StreamIds }),
  // The proto has no `playerId` here (the library cannot set one); the SFU's own id stands in, as in Wilbur.
  streamerDataChannels: Type.Object({ ...Target, ...StreamIds }),
  startStreaming: Empty,
  stopStreaming: Empty,
  disconnectPlayer: Type.Object({ playerId: TargetId, reason: Type.Optional(Type.String({ maxLength: 1024 })) }),
  ping: Time,
  pong: Time,
  /** Deprecated (Cirrus): accepted from players and ignored. */
  stats: Empty,
} as const;

export type PsInboundType = keyof typeof PS_INBOUND;
/** A decoded inbound message: the checked fields typed, the rest carried along untouched. */
export type PsInbound<T extends PsInboundType = PsInboundType> = {
  [K in T]: Static<(typeof PS_INBOUND)[K]> & { type: K } & Record<string, unknown>;
}[T];

/** Which side of the server a connection is on; each accepts its own subset of types. */
export type PsRole = 'streamer' | 'player' | 'sfu';

/** The types each role may send. Anything else is "unknown" for that role. */
export const PS_ACCEPTS: Record<PsRole, ReadonlySet<PsInboundType>> = {
  streamer: new Set(['endpointId', 'offer', 'answer', 'iceCandidate', 'disconnectPlayer', 'layerPreference', 'ping', 'pong']),
  player: new Set([
    'listStreamers',
    'subscribe',
    'unsubscribe',
    'offer',
    'answer',
    'iceCandidate',
    'layerPreference',
    'dataChannelRequest',
    'peerDataChannelsReady',
    'ping',
    'pong',
    'stats',
  ]),
  sfu: new Set([
    'endpointId',
    'listStreamers',
    'subscribe',
    'unsubscribe',
    'offer',
    'answer',
    'peerDataChannels',
    'streamerDataChannels',
    'startStreaming',
    'stopStreaming',
    'ping',
    'pong',
  ]),
};

/** The messages the server sends. Relayed messages (`offer`, `answer`…) go out as they came in. */
export const PS_OUTBOUND = {
  identify: Empty,
  config: Type.Object({ peerConnectionOptions: Type.Record(Type.String(), Type.Unknown()), protocolVersion: Type.String() }),
  endpointIdConfirm: Type.Object({ committedId: Type.String() }),
  streamerIdChanged: Type.Object({ newID: Type.String() }),
  streamerList: Type.Object({ ids: Type.Array(Type.String()) }),
  subscribeFailed: Type.Object({ message: Type.String() }),
  playerConnected: Type.Object({ dataChannel: Type.Boolean(), sfu: Type.Boolean(), playerId: PsPlayerId }),
  playerDisconnected: Type.Object({ playerId: PsPlayerId }),
  streamerDisconnected: Empty,
  ping: Type.Object({ time: Type.Number() }),
  pong: Time,
} as const;

export type PsOutboundType = keyof typeof PS_OUTBOUND;
export type PsOutbound<T extends PsOutboundType = PsOutboundType> = {
  [K in T]: { type: K } & Static<(typeof PS_OUTBOUND)[K]>;
}[T];

/**
 * Close codes of the dialect. Epic's peers expect these standard codes, so the dialect does not
 * use Heliograph's 4xxx codes except where Epic's server has no equivalent (documented).
 */
export const PS_CLOSE_CODES = {
  /** Cirrus compatibility: bad JSON or an unknown type; also a streamer id that is refused. */
  POLICY_VIOLATION: 1008,
  /** The streamer kicked the player (`disconnectPlayer`); the reason is the streamer's. */
  KICKED: 1011,
  /** A newer streamer connection took over this one's id (`duplicateStreamerIds: replace`). */
  REPLACED: 4409,
  /** Too much data was buffered for a peer that does not read. */
  SLOW_CONSUMER: 4508,
} as const;

/** Why an inbound frame was not handed on. Counted; closes the socket only in strict mode. */
export type PsDecodeProblem = 'parse' | 'unknown_type' | 'invalid';

export type PsDecodeResult = { ok: true; message: PsInbound } | { ok: false; problem: PsDecodeProblem; detail: string };

const validators = Object.fromEntries(Object.entries(PS_INBOUND).map(([type, schema]) => [type, Compile(schema as TSchema)])) as Record<
  PsInboundType,
  Validator
>;

/**
 * Decodes and validates one frame from a `role` peer: the only place inbound dialect JSON is
 * checked. Unknown fields are kept so that relays forward bodies unchanged.
 */
export function decodePsMessage(role: PsRole, text: string, maxDepth = DEFAULT_MAX_DEPTH): PsDecodeResult {
  let frame: unknown;
  try {
    frame = JSON.parse(text);
  } catch {
    return { ok: false, problem: 'parse', detail: 'Cannot parse' };
  }
  if (typeof frame !== 'object' || frame === null || Array.isArray(frame)) {
    return { ok: false, problem: 'parse', detail: 'Not a JSON object' };
  }
  const tooDeep = tooDeepAt(frame, maxDepth);
  if (tooDeep !== null) {
    return { ok: false, problem: 'invalid', detail: `${tooDeepMessage('The message', maxDepth)} at ${tooDeep.slice(0, 200)}` };
  }
  const { type } = frame as { type?: unknown };
  if (typeof type !== 'string' || !PS_ACCEPTS[role].has(type as PsInboundType)) {
    return { ok: false, problem: 'unknown_type', detail: 'Unsupported message type' };
  }
  const validator = validators[type as PsInboundType];
  if (!validator.Check(frame)) {
    const [first] = validator.Errors(frame);
    return { ok: false, problem: 'invalid', detail: `Invalid ${type}: ${first?.instancePath || '/'} ${first?.message ?? ''}`.trim() };
  }
  return { ok: true, message: frame as PsInbound };
}
