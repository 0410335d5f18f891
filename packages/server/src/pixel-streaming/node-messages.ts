import Type, { type Static } from 'typebox';
import { Compile } from 'typebox/compile';

/** The module of Pixel Streaming's requests between nodes (`ClusterNode.handleModule`). */
export const PS_MODULE = 'pixel-streaming.link';

const str = Type.String();
const opt = Type.Optional;
const record = Type.Record(Type.String(), Type.Unknown());

/**
 * Pixel Streaming requests between nodes (`cluster-link.ts`), as `module.request` bodies on the
 * receiving node's inbox, so that one node's messages to another keep their order:
 * - `ps.subscribe`: a player of the sender subscribes to a streamer of the receiver, which
 *   answers `{}` or `{ failed: <subscribeFailed message> }`;
 * - `ps.unsubscribe`: that player left its streamer (unsubscribed, re-subscribed, closed);
 * - `ps.to-streamer`: a message of that player for its streamer (already stamped with `playerId`);
 * - `ps.to-player`: a message of the streamer's node for that player;
 * - `ps.close`: the streamer's node ended the subscription (kick: `code` 1011; streamer gone: no code);
 * - `ps.replace`: another node took this streamer id under `duplicateStreamerIds: replace`.
 * The cluster core does not know them: the receiving node checks each body against these
 * compiled schemas before `cluster-link.ts` sees it.
 */
export const PsNodeMessage = Type.Union([
  Type.Object({
    type: Type.Literal('ps.subscribe'),
    streamerId: str,
    player: Type.Object({
      id: str,
      type: Type.Union([Type.Literal('Player'), Type.Literal('SFU')]),
      remoteAddress: str,
      /** The player's token, for presence on the streamer's node. */
      user: opt(Type.Object({ userId: str, name: opt(str), metadata: opt(record) })),
    }),
  }),
  Type.Object({ type: Type.Literal('ps.unsubscribe'), playerId: str }),
  Type.Object({ type: Type.Literal('ps.to-streamer'), playerId: str, message: record }),
  Type.Object({ type: Type.Literal('ps.to-player'), playerId: str, message: record }),
  Type.Object({ type: Type.Literal('ps.close'), playerId: str, code: opt(Type.Number()), reason: opt(str) }),
  Type.Object({ type: Type.Literal('ps.replace'), streamerId: str, key: str }),
]);
export type PsNodeMessage = Static<typeof PsNodeMessage>;

const check = Compile(PsNodeMessage);

/** Whether a module body is a well-formed Pixel Streaming message between nodes. */
export function isPsNodeMessage(body: unknown): body is PsNodeMessage {
  return check.Check(body);
}
