import Type, { type Static, type TSchema } from 'typebox';
import { Compile, type Validator } from 'typebox/compile';
import { EVENT_TYPES } from '@heliograph/protocol';
import { PeerPermissions, PeerPermissionsPatch } from '../rooms/peer-permissions.js';
import type { NodeMessage } from './messages.js';

/**
 * The schema of every message between nodes (`messages.ts`), one per `type`. A node checks what
 * it hears against these at its receiving edge (`ClusterBus`, both on Redis and on the direct
 * links) before any handler sees it, as the protocol checks client frames. The record is keyed
 * by every type of `NodeMessage`, so a new message without a schema does not compile, and the
 * checks at the bottom fail the build when a schema and its type disagree.
 */
const str = Type.String();
const opt = <T extends TSchema>(s: T) => Type.Optional(s);
const record = Type.Record(Type.String(), Type.Unknown());

const SCHEMAS = {
  'room.event': Type.Object({
    type: Type.Literal('room.event'),
    event: Type.Union(EVENT_TYPES.map((e) => Type.Literal(e))),
    data: str,
    except: opt(str),
    permissions: opt(PeerPermissions),
    skip: opt(Type.Array(str)),
  }),
  'room.close': Type.Object({ type: Type.Literal('room.close'), reason: str }),
  'peer.deliver': Type.Object({
    type: Type.Literal('peer.deliver'),
    room: str,
    to: str,
    event: Type.Union([Type.Literal('signal'), Type.Literal('data')]),
    data: str,
    forwarded: opt(Type.Literal(true)),
  }),
  'peer.kick': Type.Object({ type: Type.Literal('peer.kick'), room: str, peerId: str, reason: str }),
  'peer.update': Type.Object({
    type: Type.Literal('peer.update'),
    room: str,
    peerId: str,
    changes: Type.Object({ name: opt(str), metadata: opt(record), permissions: opt(PeerPermissionsPatch) }),
  }),
  'peer.moving': Type.Object({ type: Type.Literal('peer.moving'), peerId: str, to: str }),
  'peer.moved': Type.Object({ type: Type.Literal('peer.moved'), peerId: str, to: str, forwarded: Type.Integer({ minimum: 0 }) }),
  'session.claim': Type.Object({ type: Type.Literal('session.claim'), session: str, secret: str, userId: str, lastSeq: Type.Integer({ minimum: 0 }) }),
  'session.handover': Type.Object({ type: Type.Literal('session.handover'), session: str, secret: str, userId: str, lastSeq: Type.Integer({ minimum: 0 }) }),
  'session.event': Type.Object({ type: Type.Literal('session.event'), session: str, event: Type.Union(EVENT_TYPES.map((e) => Type.Literal(e))), data: str }),
  'session.answer': Type.Object({ type: Type.Literal('session.answer'), session: str, id: Type.Union([str, Type.Number()]), frame: str }),
  'console.stats': Type.Object({ type: Type.Literal('console.stats') }),
  'console.history': Type.Object({ type: Type.Literal('console.history') }),
  'inspect.start': Type.Object({
    type: Type.Literal('inspect.start'),
    capture: str,
    target: Type.Union([Type.Object({ room: str }), Type.Object({ peer: str })]),
    ttlMs: Type.Number(),
  }),
  'inspect.stop': Type.Object({ type: Type.Literal('inspect.stop'), capture: str }),
  'inspect.records': Type.Object({
    type: Type.Literal('inspect.records'),
    records: Type.Array(
      Type.Object({
        at: Type.Number(),
        node: str,
        direction: Type.Union([Type.Literal('in'), Type.Literal('out')]),
        kind: Type.Union([Type.Literal('request'), Type.Literal('answer'), Type.Literal('event'), Type.Literal('message')]),
        type: str,
        room: opt(str),
        peer: opt(str),
        user: opt(str),
        id: opt(Type.Union([str, Type.Number()])),
        bytes: Type.Number(),
        ms: opt(Type.Number()),
        error: opt(str),
        body: Type.Unknown(),
        dropped: opt(Type.Number()),
      }),
    ),
  }),
  'module.request': Type.Object({ type: Type.Literal('module.request'), module: str, body: Type.Unknown() }),
} satisfies { [T in NodeMessage['type']]: TSchema };

/** The schemas by type, for tests and documentation. */
export const NODE_MESSAGE_SCHEMAS: { readonly [T in NodeMessage['type']]: TSchema } = SCHEMAS;

const CHECKS = new Map<string, Validator>(Object.entries(SCHEMAS).map(([type, schema]) => [type, Compile(schema)]));

/** Whether `value` is a well-formed message between nodes (a compiled check per `type`). */
export function isNodeMessage(value: unknown): value is NodeMessage {
  if (typeof value !== 'object' || value === null || !('type' in value) || typeof value.type !== 'string') {
    return false;
  }
  return CHECKS.get(value.type)?.Check(value) === true;
}

/** Whether a node knows how to check messages of `type` (a handler for any other is refused). */
export function hasNodeMessageSchema(type: string): boolean {
  return CHECKS.has(type);
}

// Compile-time agreement of each schema with its type in messages.ts: a validated value is a
// value of the type, and the schema names every field of the type.
type Same<S, T> = [S] extends [T] ? ([keyof T] extends [keyof S] ? ([keyof S] extends [keyof T] ? true : false) : false) : false;
type Agrees = { [T in NodeMessage['type']]: Same<Static<(typeof SCHEMAS)[T]>, Extract<NodeMessage, { type: T }>> };
type AllAgree = Agrees extends { [T in NodeMessage['type']]: true } ? true : false;
const _agrees: AllAgree = true;
