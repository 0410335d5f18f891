import { PS_ACCEPTS, PS_INBOUND, type PsInboundType, type PsRole } from '@heliograph/protocol';
import fc from 'fast-check';
import { Obj, Ref, toJson, type Resolver } from './model.js';
import { padded, type WireFrame } from './native-frames.js';
import { nearFor, validFor, type FieldHook, type JsonSchema } from './schema-arb.js';
import { deepValue, hugeNumber, nastyValue, trickyString } from './values.js';

/** One frame to send on a Pixel Streaming port, before run-time ids are filled in. */
export type PsFrameSpec =
  | { kind: 'message'; body: unknown; binary: boolean }
  | { kind: 'text'; text: string }
  | { kind: 'binary'; bytes: Uint8Array }
  | { kind: 'badUtf8'; body: unknown; at: number; bytes: readonly number[] }
  | { kind: 'sized'; body: unknown; size: number };

/** Player and streamer ids come from what the connections saw; streamer ids to claim are a few fixed ones. */
export const psHook: FieldHook = (key, schema) => {
  if (key === 'playerId') {
    return fc.oneof({ arbitrary: fc.nat(50).map((i) => new Ref('player', i)), weight: 5 }, { arbitrary: validFor(schema), weight: 1 });
  }
  if (key === 'streamerId') {
    return fc.oneof({ arbitrary: fc.nat(50).map((i) => new Ref('streamer', i)), weight: 5 }, { arbitrary: validFor(schema), weight: 1 });
  }
  if (key === 'id') {
    return fc.oneof(
      { arbitrary: fc.constantFrom('fuzz-streamer', 'fuzz-streamer-2', 'DefaultStreamer', ''), weight: 4 },
      { arbitrary: fc.nat(50).map((i) => new Ref('streamer', i)), weight: 1 },
      { arbitrary: fc.oneof(trickyString, validFor(schema)), weight: 1 },
    );
  }
  return undefined;
};

const ALL_TYPES = Object.keys(PS_INBOUND) as PsInboundType[];

/** A message of `type`: the type first, then fields almost as the schema wants (unknown ones pass through). */
function messageOf(type: PsInboundType): fc.Arbitrary<Obj> {
  return nearFor(PS_INBOUND[type] as JsonSchema, psHook).map((fields) =>
    fields instanceof Obj
      ? new Obj([['type', type], ...fields.entries])
      : new Obj([
          ['type', type],
          ['value', fields],
        ]),
  );
}

/** Messages a `role` peer may send (most), ones it may not, and unknown or missing types. */
export function psMessage(role: PsRole): fc.Arbitrary<Obj> {
  const accepted = [...PS_ACCEPTS[role]];
  const others = ALL_TYPES.filter((t) => !PS_ACCEPTS[role].has(t));
  return fc.oneof(
    { arbitrary: fc.oneof(...accepted.map(messageOf)), weight: 12 },
    { arbitrary: fc.oneof(...others.map(messageOf)), weight: 1 },
    {
      arbitrary: fc.tuple(fc.oneof(trickyString, nastyValue, fc.constantFrom('__proto__', 'constructor', 'Offer', 'offer ')), nastyValue).map(
        ([type, v]) =>
          new Obj([
            ['type', type],
            ['x', v],
          ]),
      ),
      weight: 1,
    },
    // Relayed messages carry unknown fields along: make them deep.
    {
      arbitrary: fc
        .tuple(fc.constantFrom(...accepted), deepValue)
        .chain(([type, deep]) => messageOf(type).map((m) => new Obj([...m.entries, ['extra', deep]]))),
      weight: 2,
    },
  );
}

const garbageText: fc.Arbitrary<string> = fc.oneof(
  fc.constantFrom('', ' ', '{', '[]', 'null', '42', '{}', '{"type":null}', '{"type":"ping"', '{"type":"ping"}x', '\u0000'),
  fc.string({ unit: 'binary', maxLength: 64 }),
  deepValue.map((r) => r.text),
  hugeNumber.map((r) => r.text),
);

const badUtf8Bytes = fc.constantFrom([0xff], [0x80], [0xc0, 0x80], [0xed, 0xa0, 0x80], [0xe2, 0x82]);

export function psFrame(role: PsRole, maxMessageBytes: number): fc.Arbitrary<PsFrameSpec> {
  const message = psMessage(role);
  return fc.oneof(
    { arbitrary: fc.tuple(message, fc.nat(9)).map(([body, n]) => ({ kind: 'message' as const, body, binary: n === 0 })), weight: 85 },
    { arbitrary: garbageText.map((text) => ({ kind: 'text' as const, text })), weight: 6 },
    { arbitrary: fc.uint8Array({ maxLength: 64 }).map((bytes) => ({ kind: 'binary' as const, bytes })), weight: 2 },
    {
      arbitrary: fc
        .tuple(message, fc.double({ min: 0, max: 1, noNaN: true }), badUtf8Bytes)
        .map(([body, at, bytes]) => ({ kind: 'badUtf8' as const, body, at, bytes })),
      weight: 1,
    },
    {
      arbitrary: fc.tuple(message, fc.constantFrom(70_000, 1_000_000, maxMessageBytes + 1)).map(([body, size]) => ({ kind: 'sized' as const, body, size })),
      weight: 1,
    },
  );
}

export function encodePs(spec: PsFrameSpec, resolve: Resolver): WireFrame {
  switch (spec.kind) {
    case 'message':
      return { data: Buffer.from(toJson(spec.body, resolve)), binary: spec.binary };
    case 'text':
      return { data: Buffer.from(spec.text), binary: false };
    case 'binary':
      return { data: Buffer.from(spec.bytes), binary: true };
    case 'badUtf8': {
      const bytes = Buffer.from(toJson(spec.body, resolve));
      const at = Math.floor(bytes.length * spec.at);
      return { data: Buffer.concat([bytes.subarray(0, at), Buffer.from(spec.bytes), bytes.subarray(at)]), binary: false };
    }
    case 'sized':
      return { data: padded(spec.body, spec.size, false, resolve), binary: false };
  }
}

/** The step that gets a peer somewhere: a player subscribes, a streamer or SFU identifies. */
function settle(role: PsRole): fc.Arbitrary<PsFrameSpec> {
  const body =
    role === 'player'
      ? fc.nat(50).map(
          (i) =>
            new Obj([
              ['type', 'subscribe'],
              ['streamerId', new Ref('streamer', i)],
            ]),
        )
      : fc.constantFrom('fuzz-streamer', 'fuzz-streamer-2').map(
          (id) =>
            new Obj([
              ['type', 'endpointId'],
              ['id', id],
            ]),
        );
  return body.map((b) => ({ kind: 'message' as const, body: b, binary: false }));
}

/** What one connection sends before its barrier: often the settling step first, then 4 to 16 frames. */
export function psBatch(role: PsRole, maxMessageBytes: number): fc.Arbitrary<PsFrameSpec[]> {
  return fc
    .tuple(fc.option(settle(role), { freq: 2, nil: undefined }), fc.array(psFrame(role, maxMessageBytes), { minLength: 4, maxLength: 16 }))
    .map(([first, frames]) => (first ? [first, ...frames] : frames));
}
