import Type, { type Static } from 'typebox';
import { Compile } from 'typebox/compile';
import { parseChecked } from '../shared/parse-checked.js';

/** The module of Pixel Streaming's requests between nodes (`ClusterNode.handleModule`). */
export const PS_MODULE = 'pixel-streaming.link';

const str = Type.String();
const opt = Type.Optional;
const record = Type.Record(Type.String(), Type.Unknown());

/**
 * Pixel Streaming's control requests between nodes (`cluster-link.ts`), as `module.request`
 * bodies on the receiving node's inbox, in order with the dialect's own messages, which travel as
 * `data` relays between the two presence peers (`peer-route.ts`):
 * - `ps.subscribe`: a player of the sender, whose presence peer `peerId` has joined the
 *   streamer's room, subscribes to a streamer of the receiver, which answers `{ streamerPeer }`
 *   (the streamer's presence peer) or `{ failed: <subscribeFailed message> }`;
 * - `ps.unsubscribe`: that player left its streamer (unsubscribed, re-subscribed, closed);
 * - `ps.close`: the streamer's node ended the subscription (kick: `code` 1011; streamer gone: no code);
 * - `ps.renamed`: the streamer took a new id, and its presence peer `streamerPeer` is in the new
 *   room: the player's node tells the player and moves its presence peer there;
 * - `ps.moved`: that player's presence peer is now `peerId` in `room`;
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
    peerId: str,
  }),
  Type.Object({ type: Type.Literal('ps.unsubscribe'), playerId: str }),
  Type.Object({ type: Type.Literal('ps.close'), playerId: str, code: opt(Type.Number()), reason: opt(str) }),
  Type.Object({ type: Type.Literal('ps.renamed'), playerId: str, streamerId: str, streamerPeer: str }),
  Type.Object({ type: Type.Literal('ps.moved'), playerId: str, room: str, peerId: str }),
  Type.Object({ type: Type.Literal('ps.replace'), streamerId: str, key: str }),
]);
export type PsNodeMessage = Static<typeof PsNodeMessage>;

const check = Compile(PsNodeMessage);

/** Whether a module body is a well-formed Pixel Streaming message between nodes. */
export function isPsNodeMessage(body: unknown): body is PsNodeMessage {
  return check.Check(body);
}

/** The streamer's node's answer to `ps.subscribe`: its presence peer, or the `subscribeFailed` message. */
export const Subscribed = Type.Union([Type.Object({ streamerPeer: str }), Type.Object({ failed: str })]);
export type Subscribed = Static<typeof Subscribed>;

const checkSubscribed = Compile(Subscribed);

/** Whether another node's answer to `ps.subscribe` is well-formed. */
export function isSubscribed(reply: unknown): reply is Subscribed {
  return checkSubscribed.Check(reply);
}

/** A dialect message relayed between presence peers: `from` is stamped by the sending node. */
const checkRelayed = Compile(Type.Object({ from: str, payload: record }));

/** The dialect message in a `data` event, and who sent it; undefined when it is not one. */
export function readRelayed(dataJson: string): { from: string; payload: Record<string, unknown> } | undefined {
  return parseChecked(checkRelayed, dataJson);
}
