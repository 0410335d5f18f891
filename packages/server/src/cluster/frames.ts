import Type, { type Static } from 'typebox';
import { Compile } from 'typebox/compile';
import { ERROR_CODES } from '@heliograph/protocol';

/** An `AppError` as it crosses between nodes (in a reply here, or on a direct link). */
export const WireError = Type.Object({ code: Type.Union(ERROR_CODES.map((c) => Type.Literal(c))), message: Type.String() });

/**
 * What travels on the transport's channels (Redis): a published message, a request (`s`: its
 * sequence number from this sender to that node, see `cluster-bus.ts`), or its reply. The
 * envelope is checked here with a compiled schema; the message inside (`m`) is checked by the
 * bus with the message schemas before any handler sees it.
 */
const Message = Type.Object({ type: Type.String() });
const Id = Type.String({ minLength: 1, maxLength: 128 });
const Envelope = Type.Union([
  // `e`: the publisher hears it too.
  Type.Object({ k: Type.Literal('pub'), from: Id, m: Message, e: Type.Optional(Type.Literal(1)) }),
  Type.Object({ k: Type.Literal('req'), from: Id, id: Id, s: Type.Optional(Type.Number()), m: Message }),
  Type.Object({ k: Type.Literal('res'), from: Id, id: Id, ok: Type.Literal(true), body: Type.Unknown() }),
  Type.Object({ k: Type.Literal('res'), from: Id, id: Id, ok: Type.Literal(false), error: WireError }),
]);
const isEnvelope = Compile(Envelope);

/** A frame as read: its message not yet checked against the message schemas. */
export type WireFrame = Static<typeof Envelope>;

/**
 * Parses what one publication carried: one frame, or a batch (a JSON array of frames, in the
 * order they were sent). Returns the valid frames and how many were dropped.
 */
export function decodeFrames(raw: string): { frames: WireFrame[]; dropped: number } {
  let v: unknown;
  try {
    v = JSON.parse(raw);
  } catch {
    return { frames: [], dropped: 1 };
  }
  const items: unknown[] = Array.isArray(v) ? v : [v];
  const frames: WireFrame[] = [];
  for (const item of items) {
    if (isEnvelope.Check(item)) {
      frames.push(item);
    }
  }
  return { frames, dropped: Math.max(items.length - frames.length, items.length === 0 ? 1 : 0) };
}
